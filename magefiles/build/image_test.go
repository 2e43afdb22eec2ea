package build_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/build/buildtest"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

const project = "shiplane-test-build"

// fixture writes a tiny module with a base image (FROM scratch) and an app image FROM it.
func fixture(t *testing.T, mainSrc string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                   "module example.com/fixture\n\ngo 1.26\n",
		"base/Dockerfile":          "FROM scratch\nCOPY rootfs/ /\n",
		"base/rootfs/etc/motd":     "hello\n",
		"app/Dockerfile":           "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY bin/app /app\nENTRYPOINT [\"/app\"]\n",
		"app/.dockerignore":        "cmd/\n",
		"app/cmd/app/main.go":      mainSrc,
		"app/cmd/app/unrelated.md": "sources never reach the context",
	}
	gittest.Write(t, dir, files)
	return dir
}

const goodMain = "package main\n\nvar version = \"dev\"\n\nfunc main() { println(version) }\n"

func specs(dir, key string) (base, app build.Spec) {
	base = build.Spec{
		Component: "base", Repository: project + "/base", Version: "0.1.0", Key: identity.Key("sha256:base-" + key),
		Labels:     map[string]string{identity.LabelInputs: "sha256:base-" + key, identity.LabelVersion: "0.1.0"},
		Dockerfile: filepath.Join(dir, "base", "Dockerfile"), Dir: dir,
	}
	app = build.Spec{
		Component: "app", Repository: project + "/app", Version: "1.2.3", Key: identity.Key("sha256:app-" + key),
		Labels:     map[string]string{identity.LabelInputs: "sha256:app-" + key, identity.LabelVersion: "1.2.3"},
		Dockerfile: filepath.Join(dir, "app", "Dockerfile"), Dir: dir,
		Main: "./app/cmd/app", Binary: "app", BaseImage: base.Ref(),
	}
	return base, app
}

func nodes(d build.Daemon, out *bytes.Buffer, base, app build.Spec, opts ...build.Option) []*goal.Node {
	w := progress.Locked(out)
	opts = append([]build.Option{build.WithProgress(w)}, opts...)
	nb := &goal.Node{Component: base.Component, Goal: build.NewImageBuilt(base, d, opts...)}
	na := &goal.Node{Component: app.Component, Goal: build.NewImageBuilt(app, d, opts...), After: []*goal.Node{nb}}
	return []*goal.Node{nb, na}
}

func statuses(r *goal.Report) string {
	var s []string
	for _, res := range r.Results {
		s = append(s, res.Component+"="+res.Status.String())
	}
	return strings.Join(s, " ")
}

func TestImageBuiltAchievesOnceThenRetagsThenRebuildsOnNewInputs(t *testing.T) {
	real := testenv.RequireDocker(t)
	testenv.CleanupImages(t, real, project)
	ctx := t.Context()
	dir := fixture(t, goodMain)
	base, app := specs(dir, "one")
	d := buildtest.NewCounting(real)

	g := build.NewImageBuilt(app, d)
	if got := g.String(); got != "image built shiplane-test-build/app:1.2.3" {
		t.Errorf("String() = %q", got)
	}
	if st, err := g.Assess(ctx); err != nil || st.Achieved || st.Detail != "not built" {
		t.Fatalf("Assess before building = %+v, %v", st, err)
	}

	var out bytes.Buffer
	r := goal.New().Run(ctx, nodes(d, &out, base, app, build.WithVerbose(true)))
	if r.Err() != nil || statuses(r) != "base=newly achieved app=newly achieved" {
		t.Fatalf("first run: %v (%s)\n%s", r.Err(), statuses(r), out.String())
	}
	if d.Builds.Load() != 2 {
		t.Errorf("first run built %d images, want 2", d.Builds.Load())
	}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "base | ") && !strings.HasPrefix(line, "app | ") {
			t.Errorf("progress line without a component prefix: %q", line)
		}
	}
	if !strings.Contains(out.String(), "app | go build -trimpath") || !strings.Contains(out.String(), "app | Step 1/") {
		t.Errorf("progress lacks the compile or build output:\n%s", out.String())
	}
	img, found, err := real.InspectImage(ctx, app.Ref())
	if err != nil || !found || img.Labels[identity.LabelInputs] != string(app.Key) || r.Results[1].Digest != img.ID {
		t.Fatalf("app image = %+v (found %v, %v); report digest %s", img, found, err, r.Results[1].Digest)
	}

	// Second run: nothing to do.
	d.Reset()
	r = goal.New().Run(ctx, nodes(d, &out, base, app))
	if statuses(r) != "base=already achieved app=already achieved" || d.Builds.Load() != 0 || d.Tags.Load() != 0 {
		t.Fatalf("second run: %s, %d builds, %d tags", statuses(r), d.Builds.Load(), d.Tags.Load())
	}

	// :latest moved away: only a re-tag, no build.
	if err := real.TagImage(ctx, base.Ref(), app.Latest()); err != nil {
		t.Fatal(err)
	}
	if st, err := g.Assess(ctx); err != nil || st.Achieved || !strings.Contains(st.Detail, ":latest points elsewhere") {
		t.Fatalf("Assess with :latest elsewhere = %+v, %v", st, err)
	}
	d.Reset()
	r = goal.New().Run(ctx, nodes(d, &out, base, app))
	if statuses(r) != "base=already achieved app=newly achieved" || d.Builds.Load() != 0 || d.Tags.Load() != 1 {
		t.Fatalf("re-tag run: %s, %d builds, %d tags", statuses(r), d.Builds.Load(), d.Tags.Load())
	}
	if latest, _, _ := real.InspectImage(ctx, app.Latest()); latest.ID != img.ID {
		t.Errorf(":latest = %s, want %s", latest.ID, img.ID)
	}

	// New inputs for the app only: only the app is rebuilt.
	_, app2 := specs(dir, "two")
	d.Reset()
	r = goal.New().Run(ctx, nodes(d, &out, base, app2))
	if statuses(r) != "base=already achieved app=newly achieved" || strings.Join(d.Built(), " ") != app.Ref() {
		t.Fatalf("new inputs: %s, built %v", statuses(r), d.Built())
	}
}

func TestCompileErrorNamesTheComponentAndPrintsTheCompilerMessageOnce(t *testing.T) {
	real := testenv.RequireDocker(t)
	testenv.CleanupImages(t, real, project)
	dir := fixture(t, "package main\n\nfunc main() { undefinedThing() }\n")
	_, app := specs(dir, "broken")
	app.BaseImage = "scratch-is-never-reached"
	d := buildtest.NewCounting(real)
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		err := build.NewImageBuilt(app, d, build.WithProgress(&out), build.WithVerbose(verbose)).Achieve(t.Context())
		var ce *build.CompileError
		if !errors.As(err, &ce) {
			t.Fatalf("verbose %v: Achieve = %v, want a *build.CompileError", verbose, err)
		}
		for _, want := range []string{"component app", "./app/cmd/app", "the compiler's output is above"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("verbose %v: error lacks %q: %v", verbose, want, err)
			}
		}
		if !strings.Contains(ce.Output, "undefined: undefinedThing") {
			t.Errorf("verbose %v: CompileError.Output lacks the compiler's message: %q", verbose, ce.Output)
		}
		// Everything a person sees: the progress, then the error as mage prints it.
		all := out.String() + "Error: " + err.Error() + "\n"
		if n := strings.Count(all, "undefined: undefinedThing"); n != 1 {
			t.Errorf("verbose %v: the compiler's message appears %d times, want once:\n%s", verbose, n, all)
		}
		if !strings.Contains(out.String(), "app | ") || !strings.Contains(out.String(), "app | go build -trimpath") {
			t.Errorf("verbose %v: compiler output not shown with its prefix:\n%s", verbose, out.String())
		}
	}
	if d.Builds.Load() != 0 {
		t.Errorf("%d builds ran after a compile error", d.Builds.Load())
	}
}

func TestGoCompilerWithoutProgressKeepsTheMessageInTheError(t *testing.T) {
	dir := fixture(t, "package main\n\nfunc main() { undefinedThing() }\n")
	err := build.NewGoCompiler().Compile(t.Context(), build.Binary{Dir: dir, Main: "./app/cmd/app", Output: filepath.Join(t.TempDir(), "app")}, nil)
	var ce *build.CompileError
	if !errors.As(err, &ce) || ce.Shown || !strings.Contains(err.Error(), "undefined: undefinedThing") {
		t.Fatalf("Compile without progress = %v (%+v), want the compiler's message in the error", err, ce)
	}
}

func TestImageBuiltHidesBuilderOutputUnlessVerbose(t *testing.T) {
	real := testenv.RequireDocker(t)
	testenv.CleanupImages(t, real, project+"-quiet")
	dir := fixture(t, goodMain)
	base, app := specs(dir, "quiet")
	base.Repository, app.Repository = project+"-quiet/base", project+"-quiet/app"
	app.BaseImage = base.Ref()

	var out bytes.Buffer
	r := goal.New().Run(t.Context(), nodes(real, &out, base, app))
	if r.Err() != nil {
		t.Fatalf("quiet build: %v\n%s", r.Err(), out.String())
	}
	for _, hidden := range []string{"Step ", "--->", "Removing intermediate container", "LABEL", "go build", "Successfully"} {
		if strings.Contains(out.String(), hidden) {
			t.Errorf("a successful build printed %q without verbose:\n%s", hidden, out.String())
		}
	}

	// New inputs, verbose: the builder's steps stream, prefixed.
	_, app2 := specs(dir, "loud")
	app2.Repository, app2.BaseImage = app.Repository, base.Ref()
	out.Reset()
	r = goal.New().Run(t.Context(), nodes(real, &out, base, app2, build.WithVerbose(true)))
	if r.Err() != nil || statuses(r) != "base=already achieved app=newly achieved" {
		t.Fatalf("verbose build: %v (%s)\n%s", r.Err(), statuses(r), out.String())
	}
	for _, want := range []string{"app | go build -trimpath", "app | Step 1/", "app | Successfully tagged " + app2.Latest()} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verbose build did not print %q:\n%s", want, out.String())
		}
	}
}

func TestFailingDockerfilePrintsItsLastLinesOnce(t *testing.T) {
	real := testenv.RequireDocker(t)
	testenv.CleanupImages(t, real, project+"-fail")
	// Enough steps for more than FailureLines lines of builder output, then a step that fails.
	dockerfile := "FROM scratch\n"
	const args = 20
	for i := 1; i <= args; i++ {
		dockerfile += fmt.Sprintf("ARG STEP%02d=%d\n", i, i)
	}
	dockerfile += "COPY not-in-the-context /nowhere\n"
	dir := t.TempDir()
	gittest.Write(t, dir, map[string]string{"broken/Dockerfile": dockerfile, "broken/file": "x\n"})
	spec := build.Spec{
		Component: "broken", Repository: project + "-fail/broken", Version: "0.0.1", Key: "sha256:broken",
		Labels:     map[string]string{identity.LabelInputs: "sha256:broken"},
		Dockerfile: filepath.Join(dir, "broken", "Dockerfile"), Dir: dir,
	}
	var out bytes.Buffer
	err := build.NewImageBuilt(spec, real, build.WithProgress(&out)).Achieve(t.Context())
	var be *docker.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("Achieve = %v, want a *docker.BuildError\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != build.FailureLines {
		t.Errorf("printed %d lines, want the last %d:\n%s", len(lines), build.FailureLines, out.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "broken | ") {
			t.Errorf("line without the component prefix: %q", l)
		}
	}
	last := fmt.Sprintf("Step %d/%d : COPY not-in-the-context /nowhere", args+2, args+3) // then the LABEL step the goal adds
	if n := strings.Count(out.String(), last); n != 1 {
		t.Errorf("the failing step %q is printed %d times, want once:\n%s", last, n, out.String())
	}
	for _, early := range []string{"Step 1/", "STEP01"} {
		if strings.Contains(out.String(), early) {
			t.Errorf("an early line (%q) was printed; only the last %d lines should be:\n%s", early, build.FailureLines, out.String())
		}
	}
}
