package lane_test

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/build/buildtest"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// TestLocalLaneBuildsForTheDaemonsOwnPlatform: the local lane's target is the daemon's platform
// (linux/amd64 here: the daemon runs on this machine's kernel), tagged :<version> and :latest as
// before, and the shared platform images (built by BuildAllLocal) are images of it: a second run
// with the platform checked builds nothing and reports one "image built" per component.
func TestLocalLaneBuildsForTheDaemonsOwnPlatform(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the daemon's kernel is this machine's only on Linux")
	}
	ws := testenv.PlatformImages(t)
	real := testenv.RequireDocker(t)
	ctx := t.Context()
	targets, err := lane.LocalTargets(ctx, real, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := platform.FromDaemon("linux", runtime.GOARCH)
	if targets.Engine.Platform != want || targets.PerPlatform() {
		t.Fatalf("LocalTargets = %+v, want the daemon's %s, tagged :<version>", targets, want)
	}
	ws.Targets = targets
	var out bytes.Buffer
	ws.Config.Progress = progress.Locked(&out)
	d := buildtest.NewCounting(real)
	r := ws.RunLocalBuild(ctx, d)
	if r.Err() != nil || d.Builds.Load() != 0 || d.Tags.Load() != 0 {
		t.Fatalf("second run with the platform checked: %v, %d builds, %d tags\n%s", r.Err(), d.Builds.Load(), d.Tags.Load(), out.String())
	}
	comps := imageComponents(ws)
	if len(r.Results) != len(comps) {
		t.Fatalf("%d results for %d images", len(r.Results), len(comps))
	}
	for i, c := range comps {
		if got, want := r.Results[i].Goal, "image built "+ws.LocalImage(c)+":"+c.Version; got != want {
			t.Errorf("result %d = %q, want %q", i, got, want)
		}
		img, found, err := real.InspectImage(ctx, ws.LocalImage(c)+":latest")
		if err != nil || !found || img.Platform != want {
			t.Errorf("%s:latest = %+v (found %v, %v), want a %s image", ws.LocalImage(c), img.Platform, found, err, want)
		}
	}

	multi, err := lane.LocalTargets(ctx, real, "linux/amd64,linux/arm64")
	if err != nil || !multi.PerPlatform() || !slices.Equal(multi.For(comps[0]), []platform.Platform{platform.LinuxAMD64, platform.LinuxARM64}) {
		t.Errorf("LocalTargets with PLATFORMS = %+v, %v", multi, err)
	}
	if _, err := lane.LocalTargets(ctx, real, "linux/amd64,darwin/arm64"); err == nil || !strings.Contains(err.Error(), "PLATFORMS") || !strings.Contains(err.Error(), "fix:") {
		t.Errorf("LocalTargets with a bad PLATFORMS = %v", err)
	}
}

// TestEveryBinaryIsAnELFForItsImagesArchitecture builds the reference components for linux/amd64
// and linux/arm64 (PLATFORMS in the local lane) against the real daemon, then reads each image
// back from the daemon: its config names the platform, and every program in /usr/local/bin (its
// own and the one it inherits FROM base) is a 64-bit ELF for that architecture.
func TestEveryBinaryIsAnELFForItsImagesArchitecture(t *testing.T) {
	real := testenv.RequireDocker(t)
	const project = "shiplane-test-platforms"
	testenv.CleanupImages(t, real, project)
	root := testenv.CopyRepo(t, project)
	ctx := t.Context()
	var out bytes.Buffer
	ws, err := lane.Open(ctx, lane.Config{Root: root, Progress: progress.Locked(&out), Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": ""})})
	if err != nil {
		t.Fatal(err)
	}
	if ws.Targets, err = lane.LocalTargets(ctx, real, "linux/amd64,linux/arm64"); err != nil {
		t.Fatal(err)
	}
	d := buildtest.NewCounting(real)
	if err := ws.BuildLocal(ctx, d); err != nil {
		t.Fatalf("building two platforms: %v\n%s", err, out.String())
	}
	comps := imageComponents(ws)
	if n := d.Builds.Load(); n < int32(2*len(comps)) {
		t.Errorf("%d Engine API builds for %d images on two platforms", n, len(comps))
	}
	machines := map[platform.Platform]elf.Machine{platform.LinuxAMD64: elf.EM_X86_64, platform.LinuxARM64: elf.EM_AARCH64}
	src := registry.NewDaemon(real.API())
	for _, c := range comps {
		if _, found, _ := real.InspectImage(ctx, ws.LocalImage(c)+":latest"); found {
			t.Errorf("%s: a per-platform build moved :latest", c.Name)
		}
		for p, machine := range machines {
			ref := ws.LocalRef(c, p)
			if want := ws.LocalImage(c) + ":" + c.Version + "-" + p.Tag(); ref != want {
				t.Fatalf("LocalRef = %q, want %q", ref, want)
			}
			img, err := src.LocalImage(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.OS != p.OS || cfg.Architecture != p.Architecture {
				t.Errorf("%s: config says %s/%s", ref, cfg.OS, cfg.Architecture)
			}
			bins := programs(t, img)
			want := []string{"healthcheck"} // every image is FROM base, which brings the probe
			if c.Image.Main != "" {
				want = append(want, c.Image.Binary())
			}
			if !slices.Equal(slices.Sorted(maps.Keys(bins)), slices.Compact(slices.Sorted(slices.Values(want)))) {
				t.Errorf("%s: /usr/local/bin holds %v, want %v", ref, slices.Sorted(maps.Keys(bins)), want)
			}
			for name, data := range bins {
				f, err := elf.NewFile(bytes.NewReader(data))
				if err != nil {
					t.Errorf("%s: /usr/local/bin/%s is not an ELF file: %v", ref, name, err)
					continue
				}
				if f.Machine != machine || f.Class != elf.ELFCLASS64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
					t.Errorf("%s: /usr/local/bin/%s is %s %s %s, want %s ELFCLASS64", ref, name, f.Machine, f.Class, f.OSABI, machine)
				}
			}
		}
	}

	// Nothing changed: nothing is built again.
	d.Reset()
	out.Reset()
	if err := ws.BuildLocal(ctx, d); err != nil || d.Builds.Load() != 0 {
		t.Errorf("second run: %v, %d builds\n%s", err, d.Builds.Load(), out.String())
	}
	if !strings.Contains(out.String(), "image built "+project+"/core:"+ws.Manifest.Component("core").Version+"-linux-arm64") {
		t.Errorf("the report does not name the per-platform image:\n%s", out.String())
	}
}

// programs returns the regular files directly in /usr/local/bin of img's file system, as its
// layers stack up.
func programs(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading the image's file system: %v", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if path.Dir(name) != "usr/local/bin" || hdr.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[path.Base(name)] = data
	}
}

// TestForeignRunIsRefusedBeforeAnyBuild: a component whose Dockerfile runs a program (RUN),
// built for an architecture the engine cannot run, is refused before anything is built, naming
// the component, Dockerfile:line, the platform and the fixes. The engine's binfmt_misc
// directory is an empty temporary one (the kernel's would say what this machine has installed).
func TestForeignRunIsRefusedBeforeAnyBuild(t *testing.T) {
	real := testenv.RequireDocker(t)
	const project = "shiplane-test-foreign-run"
	root := testenv.CopyRepo(t, project)
	gittest.Write(t, root, map[string]string{"services/scanner/Dockerfile": "ARG BASE_IMAGE=shiplane/base:latest\nFROM ${BASE_IMAGE}\n" +
		"COPY bin/scanner /usr/local/bin/scanner\nRUN [\"/usr/local/bin/scanner\", \"-version\"]\nENTRYPOINT [\"/usr/local/bin/scanner\"]\n"})
	ctx := t.Context()
	ws, err := lane.Open(ctx, lane.Config{Root: root, Progress: io.Discard, Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": ""})})
	if err != nil {
		t.Fatal(err)
	}
	ws.Targets = lane.Targets{Engine: build.Engine{Platform: platform.LinuxAMD64, Host: "unix:///var/run/docker.sock", BinfmtDir: t.TempDir()},
		Only: []platform.Platform{platform.LinuxAMD64, platform.LinuxARM64}}
	d := buildtest.NewCounting(real)
	err = ws.BuildLocal(ctx, d)
	var fe *build.ForeignRunError
	if !errors.As(err, &fe) {
		t.Fatalf("BuildLocal = %v, want a *build.ForeignRunError", err)
	}
	if d.Builds.Load() != 0 || d.Inspects.Load() != 0 {
		t.Errorf("refused after %d builds and %d inspections; want none", d.Builds.Load(), d.Inspects.Load())
	}
	for _, want := range []string{"nothing was built", `services/scanner/Dockerfile:4: component "scanner"`, "building for linux/arm64",
		"tonistiigi/binfmt --install arm64", "through a Docker context", "drop linux/arm64 from platforms:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q:\n%v", want, err)
		}
	}
	if strings.Count(err.Error(), "component \"") != 1 {
		t.Errorf("only scanner for linux/arm64 should be refused:\n%v", err)
	}
}
