package lane_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"":                    nil,
		" , ":                 nil,
		"core":                {"core"},
		" core, connector-fs": {"core", "connector-fs"},
		"core,,scanner,":      {"core", "scanner"},
	} {
		if got := lane.SplitList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestComposeFilesSelection(t *testing.T) {
	m := layeringManifest(t)
	tests := []struct {
		asked, include []string
		want           []string
	}{
		// A connector brings the core it depends on, and nothing else.
		{[]string{"fs"}, nil, []string{"compose/core.yaml", "compose/fs.yaml"}},
		{[]string{"hook", "fs"}, nil, []string{"compose/core.yaml", "compose/fs.yaml", "compose/hook.yaml"}},
		{[]string{"core"}, nil, []string{"compose/core.yaml"}},
		// Bundles still add to a selection; a bundle's component can be selected by name.
		{[]string{"fs"}, []string{"scanner"}, []string{"compose/core.yaml", "compose/fs.yaml", "compose/scan.yaml"}},
		{[]string{"scan"}, nil, []string{"compose/scan.yaml"}},
		// A component without a compose file adds none.
		{[]string{"base"}, nil, nil},
		// Nothing selected: every component in no bundle, as ComposeFiles.
		{nil, nil, []string{"compose/core.yaml", "compose/fs.yaml", "compose/hook.yaml"}},
	}
	for _, tt := range tests {
		got, err := lane.Selection{Asked: tt.asked, Source: "-only"}.ComposeFiles(m, tt.include)
		if err != nil {
			t.Fatalf("%q + %q: %v", tt.asked, tt.include, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Selection%q.ComposeFiles(%q) = %v, want %v", tt.asked, tt.include, got, tt.want)
		}
	}
}

func TestSelectRefusesAnUnknownComponent(t *testing.T) {
	root := testenv.RepoRoot(t)
	known := "the components are base, core, connector-fs, connector-webhook, scanner"
	for _, tt := range []struct {
		name      string
		only, env string
		want      []string
	}{
		{"-only, close to a name", "core,conector-fs", "", []string{`deploy/components.yaml: -only names "conector-fs", which is no component`, known, `fix: did you mean "connector-fs"?`}},
		{"COMPONENTS, far from every name", "", "core, zzzzzzzz", []string{`COMPONENTS names "zzzzzzzz"`, known}},
		{"-only wins over COMPONENTS", "qqq", "core", []string{`-only names "qqq"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := &bytes.Buffer{}
			cfg := lane.Config{Root: root, Getenv: getenv(map[string]string{"COMPONENTS": tt.env}), Progress: out, Stdout: io.Discard, Only: lane.SplitList(tt.only)}
			for what, run := range map[string]func() error{
				"composeUpLocal": func() error { return lane.ComposeUpLocal(t.Context(), cfg, nil) },
				// No daemon at this address: a selection that passed would fail on it instead.
				"buildAllLocal": func() error {
					cfg := cfg
					cfg.Getenv = getenv(map[string]string{"COMPONENTS": tt.env, "DOCKER_HOST": "unix:///nonexistent/docker.sock"})
					return lane.BuildAllLocal(t.Context(), cfg)
				},
			} {
				err := run()
				var unknown *lane.UnknownSelectionError
				if !errors.As(err, &unknown) {
					t.Fatalf("%s: %v, want *lane.UnknownSelectionError", what, err)
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error lacks %q: %v", what, w, err)
					}
				}
				if strings.Contains(err.Error(), "did you mean") != strings.Contains(strings.Join(tt.want, " "), "did you mean") {
					t.Errorf("%s: did-you-mean is wrong: %v", what, err)
				}
				if out.Len() != 0 {
					t.Errorf("%s printed before refusing:\n%s", what, out)
				}
			}
		})
	}
}

func TestComposeUpLocalSelectionWithoutComposeFileIsExplained(t *testing.T) {
	out := &bytes.Buffer{}
	cfg := lane.Config{Root: testenv.RepoRoot(t), Getenv: getenv(map[string]string{"COMPONENTS": "base"}), Progress: out, Stdout: io.Discard}
	err := lane.ComposeUpLocal(t.Context(), cfg, nil)
	var nothing *lane.NothingSelectedError
	if !errors.As(err, &nothing) {
		t.Fatalf("ComposeUpLocal with COMPONENTS=base: %v, want *lane.NothingSelectedError", err)
	}
	for _, want := range []string{"deploy/components.yaml", "COMPONENTS=base selects nothing to run: none of them has a compose file", "fix:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if want := "selected (COMPONENTS): base; base: without a compose file, nothing to do for it\n"; out.String() != want {
		t.Errorf("progress = %q, want %q", out, want)
	}
}

func TestBuildAllLocalOnlyBuildsTheSelectionAndItsBases(t *testing.T) {
	real := testenv.RequireDocker(t)
	const project = "shiplane-test-lane-only"
	root := testenv.CopyRepo(t, project)
	ctx := t.Context()
	reportPath := filepath.Join(t.TempDir(), "report.json")
	var out bytes.Buffer
	cfg := lane.Config{Root: root, Progress: progress.Locked(&out), Only: []string{"core"},
		Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": reportPath, "COMPONENTS": "scanner"})}
	m, err := manifest.Load(root, manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	report := func() map[string]string {
		t.Helper()
		data, err := os.ReadFile(reportPath)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Goals []struct{ Component, Goal, Status string }
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, g := range rep.Goals {
			got[g.Component] = g.Status
		}
		return got
	}
	images := func() []string {
		t.Helper()
		var got []string
		for _, c := range m.Components {
			if _, found, err := real.InspectImage(ctx, project+"/"+c.Image.Name+":"+c.Version); err != nil {
				t.Fatal(err)
			} else if found {
				got = append(got, c.Name)
			}
		}
		sort.Strings(got)
		return got
	}

	// -only=core (it wins over COMPONENTS=scanner): base and core, nothing else.
	if err := lane.BuildAllLocal(ctx, cfg); err != nil {
		t.Fatalf("buildAllLocal -only=core: %v\n%s", err, out.String())
	}
	t.Logf("buildAllLocal -only=core:\n%s", out.String())
	if got, want := report(), map[string]string{"base": "achieved", "core": "achieved"}; !reflect.DeepEqual(got, want) {
		t.Errorf("report = %v, want %v", got, want)
	}
	if got, want := images(), []string{"base", "core"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the daemon has %v of %s, want %v", got, project, want)
	}
	if !strings.Contains(out.String(), "selected (-only): core; pulled in: core needs base (its image is built FROM it)\n") {
		t.Errorf("progress does not say what was selected and pulled in:\n%s", out.String())
	}

	// COMPONENTS=core,connector-fs: base and core are already there, connector-fs is built.
	cfg.Only = nil
	cfg.Getenv = buildEnv(map[string]string{"SHIPLANE_REPORT": reportPath, "COMPONENTS": "core, connector-fs"})
	out.Reset()
	if err := lane.BuildAllLocal(ctx, cfg); err != nil {
		t.Fatalf("COMPONENTS=core,connector-fs: %v\n%s", err, out.String())
	}
	if got, want := report(), map[string]string{"base": "already", "core": "already", "connector-fs": "achieved"}; !reflect.DeepEqual(got, want) {
		t.Errorf("report = %v, want %v", got, want)
	}
	if got, want := images(), []string{"base", "connector-fs", "core"}; !reflect.DeepEqual(got, want) {
		t.Errorf("the daemon has %v of %s, want %v", got, project, want)
	}
	if !strings.Contains(out.String(), "selected (COMPONENTS): core, connector-fs; pulled in: core needs base (its image is built FROM it), connector-fs needs base (its image is built FROM it)\n") {
		t.Errorf("progress does not say what was selected and pulled in:\n%s", out.String())
	}
}

func TestComposeUpLocalOnlyStartsTheSelectionAndWhatItDependsOn(t *testing.T) {
	testenv.PlatformImages(t)
	s := newStack(t, map[string]string{"COMPONENTS": "connector-fs"})
	s.up(t)
	list, err := s.client(t).ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: s.projectFilter()})
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, c := range list.Items {
		services = append(services, c.Labels[api.ServiceLabel])
	}
	sort.Strings(services)
	if want := []string{"connector-fs", "core"}; !reflect.DeepEqual(services, want) {
		t.Errorf("services %v, want %v", services, want)
	}
	if _, ok := s.urls["connector-webhook"]; ok {
		t.Errorf("published URLs %v list connector-webhook, which was not selected", s.urls)
	}
	s.down(t)
}
