package build_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/build/buildtest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// TestCompileEnvReachesAFakeGoCommand runs the compiler with a fake go command (a shell script
// that records its environment): the target platform's GOOS, GOARCH and GOARM reach it, and a
// host's GOARM or GOAMD64 does not leak into another architecture's build.
func TestCompileEnvReachesAFakeGoCommand(t *testing.T) {
	dir := t.TempDir()
	fakeGo := filepath.Join(dir, "fake-go")
	if err := os.WriteFile(fakeGo, []byte("#!/bin/sh\nenv > \"$RECORD_ENV\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOARM", "6")
	t.Setenv("GOAMD64", "v3")
	t.Setenv("GOOS", "darwin")
	t.Setenv("CGO_ENABLED", "1")
	for _, tt := range []struct {
		platform string
		want     []string
		absent   []string
	}{
		{"linux/arm64", []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, []string{"GOARM", "GOAMD64"}},
		{"linux/arm/v7", []string{"GOOS=linux", "GOARCH=arm", "GOARM=7", "CGO_ENABLED=0"}, []string{"GOAMD64"}},
		{"linux/amd64", []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}, []string{"GOARM", "GOAMD64"}},
		{"", []string{"GOOS=linux", "CGO_ENABLED=0", "GOARM=6", "GOAMD64=v3"}, nil}, // unspecified: the go command's own arch
	} {
		record := filepath.Join(dir, "env-"+strings.ReplaceAll(tt.platform, "/", "-"))
		var p platform.Platform
		if tt.platform != "" {
			p = platform.MustParse(tt.platform)
		}
		c := build.NewGoCompiler(build.WithGo(fakeGo), build.WithCompileEnv("RECORD_ENV="+record, "GOARCH=mips"))
		if err := c.Compile(t.Context(), build.Binary{Dir: dir, Main: "./cmd/x", Output: filepath.Join(dir, "x"), Version: "1.0.0", Platform: p}, nil); err != nil {
			t.Fatalf("%s: %v", tt.platform, err)
		}
		data, err := os.ReadFile(record)
		if err != nil {
			t.Fatal(err)
		}
		env := strings.Split(strings.TrimSpace(string(data)), "\n")
		for _, w := range tt.want {
			if !slices.Contains(env, w) {
				t.Errorf("%q: the go command's environment lacks %s", tt.platform, w)
			}
		}
		for _, k := range append(tt.absent, "GOOS=darwin", "CGO_ENABLED=1") {
			for _, kv := range env {
				if kv == k || strings.HasPrefix(kv, k+"=") {
					t.Errorf("%q: the go command's environment has %s", tt.platform, kv)
				}
			}
		}
		if p.IsZero() && !slices.Contains(env, "GOARCH=mips") {
			t.Errorf("unspecified platform: WithCompileEnv's GOARCH did not reach the go command")
		}
	}
}

func TestRunLinesFindsEveryRunInstruction(t *testing.T) {
	for _, tt := range []struct {
		name, dockerfile string
		want             []int
	}{
		{"none", "FROM scratch\nCOPY bin/app /app\n# RUN in a comment\nLABEL run=yes\n", nil},
		{"simple", "FROM scratch\nCOPY a /a\nRUN /a --init\n", []int{3}},
		{"lower case and JSON", "FROM x\nrun [\"/bin/true\"]\n", []int{2}},
		{"continuations", "FROM x\nENV A=1 \\\n  B=2\nRUN echo \\\n  # a comment inside\n  two\nRUN three\n", []int{4, 7}},
		{"escape directive", "# escape=`\nFROM x\nENV A=1 `\n  B=2\nRUN echo `\n  hi\n", []int{5}},
		{"heredoc", "FROM x\nRUN <<EOF\nset -e\nRUN not an instruction\nEOF\nCOPY a /a\n", []int{2}},
		{"stages", "FROM x AS build\nRUN make\nFROM scratch\nCOPY --from=build /out /\n", []int{2}},
		{"onbuild is not run here", "FROM x\nONBUILD RUN make\n", nil},
	} {
		got, err := build.RunLines(strings.NewReader(tt.dockerfile))
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: RunLines = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// binfmt writes a fake binfmt_misc directory: name -> file content.
func binfmt(t *testing.T, entries map[string]string) string {
	dir := t.TempDir()
	for name, content := range entries {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEngineRunsForeignPlatformsOnlyWithEmulationItCanSee(t *testing.T) {
	amd64, arm64, armv7 := platform.LinuxAMD64, platform.LinuxARM64, platform.MustParse("linux/arm/v7")
	withF := binfmt(t, map[string]string{
		"qemu-aarch64": "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: POCF\noffset 0\n",
		"qemu-arm":     "disabled\ninterpreter /usr/bin/qemu-arm\nflags: F\n",
		"qemu-riscv64": "enabled\ninterpreter /usr/bin/qemu-riscv64-static\nflags: \n",
	})
	local := build.Engine{Platform: amd64, Host: "unix:///var/run/docker.sock", BinfmtDir: withF}
	for _, tt := range []struct {
		name      string
		e         build.Engine
		p         platform.Platform
		ok, known bool
		why       string
	}{
		{"native", local, amd64, true, true, "native"},
		{"native variant", local, platform.MustParse("linux/amd64/v3"), true, true, "native"},
		{"unspecified", local, platform.Platform{}, true, true, "native"},
		{"binfmt handler with F", local, arm64, true, true, "binfmt_misc qemu-aarch64"},
		{"disabled handler", local, armv7, false, true, "is disabled"},
		{"handler without F", local, platform.MustParse("linux/riscv64"), false, true, "lacks the F flag"},
		{"no handler", local, platform.MustParse("linux/s390x"), false, true, "no binfmt_misc handler qemu-s390x"},
		{"Docker Desktop", build.Engine{Platform: arm64, DockerDesktop: true}, amd64, true, true, "Docker Desktop"},
		{"remote engine", build.Engine{Platform: amd64, Host: "ssh://builder"}, arm64, false, false, "ssh://builder is not on this machine's kernel"},
		{"arm64 engine, arm/v7 image", build.Engine{Platform: arm64, Host: "tcp://pi:2375"}, armv7, false, false, "cannot be told"},
	} {
		ok, known, why := tt.e.Runs(tt.p)
		if ok != tt.ok || known != tt.known || !strings.Contains(why, tt.why) {
			t.Errorf("%s: Runs(%s) = %v, %v, %q; want %v, %v, %q", tt.name, tt.p, ok, known, why, tt.ok, tt.known, tt.why)
		}
	}
}

func TestCheckForeignRunsNamesTheRunStepAndTheFixes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"plain/Dockerfile": "FROM scratch\nCOPY bin/app /app\n",
		"tool/Dockerfile":  "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY a /a\nRUN /a \\\n  --setup\nRUN /a --more\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := build.Engine{Platform: platform.LinuxAMD64, Host: "unix:///var/run/docker.sock", BinfmtDir: binfmt(t, nil)}
	spec := func(comp, df string, p platform.Platform) build.Spec {
		return build.Spec{Component: comp, Dockerfile: filepath.Join(dir, df), Platform: p}
	}
	specs := []build.Spec{
		spec("plain", "plain/Dockerfile", platform.LinuxARM64), // no RUN: builds anywhere
		spec("tool", "tool/Dockerfile", platform.LinuxAMD64),   // native
		spec("tool", "tool/Dockerfile", platform.LinuxARM64),   // refused
	}
	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return r }
	err := build.CheckForeignRuns(specs, e, rel)
	var fe *build.ForeignRunError
	if !errors.As(err, &fe) || fe.Component != "tool" || fe.Line != 4 || fe.Platform != platform.LinuxARM64 {
		t.Fatalf("CheckForeignRuns = %v (%+v)", err, fe)
	}
	msg := err.Error()
	for _, want := range []string{`tool/Dockerfile:4: component "tool"`, "linux/arm64", "linux/amd64 engine", "no binfmt_misc handler qemu-aarch64",
		"docker run --privileged --rm tonistiigi/binfmt --install arm64", "native linux/arm64 engine through a Docker context", "drop linux/arm64 from platforms:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "\n") != 0 {
		t.Errorf("one refusal expected, got:\n%s", msg)
	}
	if err := build.CheckForeignRuns(specs[:2], e, rel); err != nil {
		t.Errorf("no foreign RUN: %v", err)
	}
}

// TestAssessRefusesAnImageOfAnotherPlatform: an amd64 image under the arm64 tag is not "built";
// the goal then builds the arm64 image (FROM scratch needs no emulation), tagged for its platform
// only, and the daemon's image config says arm64.
func TestAssessRefusesAnImageOfAnotherPlatform(t *testing.T) {
	real := testenv.RequireDocker(t)
	const project = "shiplane-test-platform"
	testenv.CleanupImages(t, real, project)
	ctx := t.Context()
	dir := fixture(t, goodMain)
	base, _ := specs(dir, "one")
	base.Repository = project + "/base"
	amd, arm := base, base
	amd.Platform, amd.PlatformTag = platform.LinuxAMD64, true
	arm.Platform, arm.PlatformTag = platform.LinuxARM64, true
	if amd.Ref() != project+"/base:0.1.0-linux-amd64" || arm.Ref() != project+"/base:0.1.0-linux-arm64" {
		t.Fatalf("refs %s, %s", amd.Ref(), arm.Ref())
	}
	d := buildtest.NewCounting(real)
	if r := goal.New().Run(ctx, []*goal.Node{{Component: "base", Goal: build.NewImageBuilt(amd, d)}}); r.Err() != nil {
		t.Fatal(r.Err())
	}
	amdImg, _, err := real.InspectImage(ctx, amd.Ref())
	if err != nil || amdImg.Platform != platform.LinuxAMD64 {
		t.Fatalf("amd64 image: %+v, %v", amdImg, err)
	}
	if err := real.TagImage(ctx, amd.Ref(), arm.Ref()); err != nil {
		t.Fatal(err)
	}
	g := build.NewImageBuilt(arm, d)
	st, err := g.Assess(ctx)
	if err != nil || st.Achieved || st.Detail != arm.Ref()+" is a linux/amd64 image, want linux/arm64" {
		t.Fatalf("Assess of an amd64 image under the arm64 tag = %+v, %v", st, err)
	}
	d.Reset()
	var out bytes.Buffer
	g = build.NewImageBuilt(arm, d, build.WithProgress(&out), build.WithVerbose(true)) // the step lines show the cache was not used
	if r := goal.New().Run(ctx, []*goal.Node{{Component: "base", Goal: g}}); r.Err() != nil {
		t.Fatalf("arm64 build: %v\n%s", r.Err(), out.String())
	}
	// Engine 20.10's classic builder would answer the arm64 build from the amd64 build's cache
	// (its cache is not keyed by platform): a build for a named platform does not use the cache.
	if n := d.Builds.Load(); n != 1 || !strings.Contains(out.String(), ": COPY rootfs/ /") || strings.Contains(out.String(), "Using cache") {
		t.Errorf("arm64 build: %d builds, want 1 without the cache\n%s", n, out.String())
	}
	armImg, _, err := real.InspectImage(ctx, arm.Ref())
	if err != nil || armImg.Platform.Architecture != "arm64" || armImg.Platform.OS != "linux" || armImg.ID == amdImg.ID {
		t.Fatalf("arm64 image: %+v, %v", armImg, err)
	}
	if st, err := g.Assess(ctx); err != nil || !st.Achieved || st.Digest != armImg.ID {
		t.Errorf("Assess after the build = %+v, %v", st, err)
	}
	if _, found, _ := real.InspectImage(ctx, project+"/base:latest"); found {
		t.Errorf("a per-platform build moved :latest")
	}
	// Both platforms are now built: a second run builds nothing.
	d.Reset()
	r := goal.New().Run(ctx, []*goal.Node{{Component: "base", Goal: build.NewImageBuilt(amd, d)}, {Component: "base", Goal: build.NewImageBuilt(arm, d)}})
	if r.Err() != nil || statuses(r) != "base=already achieved base=already achieved" || d.Builds.Load()+d.Tags.Load() != 0 {
		t.Errorf("second run: %s, %d builds, %d tags", statuses(r), d.Builds.Load(), d.Tags.Load())
	}
}
