package deploy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/testenv"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

var componentCharts = []string{"core", "connector-fs", "connector-webhook", "scanner", "web"}

// localReleases are the releases the local lane would install from the repository as it is.
func localReleases(t *testing.T) map[string]*deploy.Release {
	t.Helper()
	ws, err := lane.Open(t.Context(), lane.Config{Root: testenv.RepoRoot(t), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	rels, err := ws.LocalReleases(t.Context(), lane.DefaultDeployNamespace)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*deploy.Release{}
	for _, r := range rels {
		out[r.Chart.Name()] = r
	}
	return out
}

func TestDeployRenderGolden(t *testing.T) {
	local := localReleases(t)
	for _, name := range componentCharts {
		t.Run(name+"/default", func(t *testing.T) {
			r := coreRelease(t, chartDir(t, name), nil)
			r.Name, r.Component = name, name
			got, err := deploy.Render(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name+"-default", got)
		})
		t.Run(name+"/local", func(t *testing.T) {
			r := local[name]
			if r == nil {
				t.Fatalf("the local lane deploys no release of chart %s", name)
			}
			got, err := deploy.Render(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name+"-local", got)
		})
	}
	t.Run("platform/default", func(t *testing.T) {
		ch, err := deploy.LoadChart(vendoredPlatform(t))
		if err != nil {
			t.Fatal(err)
		}
		got, err := deploy.Render(t.Context(), &deploy.Release{Name: "platform", Namespace: "shiplane", Chart: ch, ChartDir: "charts/platform"})
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "platform-default", got)
	})
}

// vendoredPlatform copies charts/ to a temporary directory with the platform chart's file://
// dependencies unpacked into its charts/ directory, as `helm dependency build` would leave them.
func vendoredPlatform(t *testing.T) string {
	t.Helper()
	dir := copyChart(t, "platform")
	for _, name := range componentCharts {
		src := copyChart(t, name)
		if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(src, filepath.Join(dir, "charts", name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDeployLintEveryChart(t *testing.T) {
	local := localReleases(t)
	lint := func(t *testing.T, dir string, vals map[string]any) {
		t.Helper()
		l := action.NewLint()
		l.Strict = true
		l.Namespace = lane.DefaultDeployNamespace
		l.WithSubcharts = true
		res := l.Run([]string{dir}, vals)
		for _, m := range res.Messages {
			if m.Severity > support.InfoSev {
				t.Errorf("%s", m)
			}
		}
		for _, err := range res.Errors {
			t.Errorf("lint: %v", err)
		}
		if res.TotalChartsLinted != 1 {
			t.Errorf("%d charts linted", res.TotalChartsLinted)
		}
	}
	for _, name := range componentCharts {
		t.Run(name+"/default", func(t *testing.T) { lint(t, chartDir(t, name), nil) })
		t.Run(name+"/local", func(t *testing.T) { lint(t, chartDir(t, name), local[name].Values) })
	}
	t.Run("platform", func(t *testing.T) {
		dir := vendoredPlatform(t)
		lint(t, dir, nil)
		scanner, err := os.ReadFile(filepath.Join(dir, "values-scanner.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		vals, err := readValues(scanner)
		if err != nil {
			t.Fatal(err)
		}
		lint(t, dir, vals)
	})
}

func readValues(data []byte) (map[string]any, error) {
	ch, err := loader.LoadFiles([]*loader.BufferedFile{
		{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: values\nversion: 0.0.0\n")},
		{Name: "values.yaml", Data: data},
	})
	if err != nil {
		return nil, err
	}
	return ch.Values, nil
}

func TestDeployRenderTemplateErrorNamesChartAndFile(t *testing.T) {
	dir := copyChart(t, "core")
	edit(t, dir, "templates/deployment.yaml", "replicas: {{ .Values.replicaCount }}", "replicas: {{ .Values.replicaCount ")
	r := coreRelease(t, dir, localValues("1.2.0"))
	_, err := deploy.Render(t.Context(), r)
	var ce *deploy.ChartError
	if !errors.As(err, &ce) || ce.Chart != "core" || ce.Op != "rendering" {
		t.Fatalf("err = %v, want *deploy.ChartError rendering core", err)
	}
	for _, want := range []string{"chart core", dir, "templates/deployment.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

func TestDeployRenderWrongTypeNamesChartAndFile(t *testing.T) {
	dir := copyChart(t, "core")
	edit(t, dir, "values.yaml", "replicaCount: 1", "replicaCount: many")
	_, err := deploy.Render(t.Context(), coreRelease(t, dir, localValues("1.2.0")))
	var ce *deploy.ChartError
	var oe *deploy.ObjectError
	if !errors.As(err, &ce) || ce.File != "templates/deployment.yaml" || !errors.As(err, &oe) || oe.Kind != "Deployment" {
		t.Fatalf("err = %v, want *deploy.ChartError in templates/deployment.yaml with a Deployment *deploy.ObjectError", err)
	}
	for _, want := range []string{"chart core", "templates/deployment.yaml", "replicas", "int32"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

func TestDeployLoadBrokenValuesFileNamesChartAndFile(t *testing.T) {
	dir := copyChart(t, "core")
	edit(t, dir, "values.yaml", "replicaCount: 1", "replicaCount: [1")
	_, err := deploy.LoadChart(dir)
	var ce *deploy.ChartError
	if !errors.As(err, &ce) || ce.Op != "loading" {
		t.Fatalf("err = %v, want *deploy.ChartError loading", err)
	}
	for _, want := range []string{"chart core", dir, "values.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

func TestDeployLoadMissingDependencyNamesChart(t *testing.T) {
	_, err := deploy.LoadChart(chartDir(t, "platform"))
	var ce *deploy.ChartError
	if !errors.As(err, &ce) || ce.File != "Chart.yaml" {
		t.Fatalf("err = %v, want *deploy.ChartError for Chart.yaml", err)
	}
	if !strings.Contains(err.Error(), "chart platform") || !strings.Contains(err.Error(), "core") {
		t.Errorf("message: %v", err)
	}
}
