package docker_test

import (
	"runtime"
	"testing"

	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// TestPlatformIsTheDaemonsOwnInOCIForm asks the real daemon. It runs on this machine's kernel,
// so its platform is linux/<the architecture this test is compiled for> (linux/amd64 here).
func TestPlatformIsTheDaemonsOwnInOCIForm(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the daemon's kernel is this machine's only on Linux")
	}
	d := testenv.RequireDocker(t)
	info, err := d.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Platform(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := platform.FromDaemon("linux", runtime.GOARCH)
	if p != want || info.Platform != p {
		t.Fatalf("Platform = %q (Info: OSType %q, Architecture %q, Platform %q); want %q", p, info.OSType, info.Architecture, info.Platform, want)
	}
	if info.OSType != "linux" || info.Architecture == "" || info.ServerVersion == "" {
		t.Errorf("Info = %+v", info)
	}
	t.Logf("daemon %s (%s), %s/%s -> %s", info.ServerVersion, info.OperatingSystem, info.OSType, info.Architecture, p)
}
