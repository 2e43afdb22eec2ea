package platform_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/platform"
)

func TestFromDaemonNormalisesUnameMachinesToOCI(t *testing.T) {
	for _, tt := range []struct {
		machine, want string
	}{
		{"x86_64", "linux/amd64"},
		{"amd64", "linux/amd64"},
		{"aarch64", "linux/arm64"},
		{"arm64", "linux/arm64"},
		{"armv7l", "linux/arm/v7"},
		{"armv8l", "linux/arm/v7"},
		{"armv6l", "linux/arm/v6"},
		{"armv5tel", "linux/arm/v5"},
		{"i386", "linux/386"},
		{"i686", "linux/386"},
		{"ppc64le", "linux/ppc64le"},
		{"s390x", "linux/s390x"},
		{"riscv64", "linux/riscv64"},
		{"mips64el", "linux/mips64le"},
		{"loongarch64", "linux/loong64"},
		{" X86_64\n", "linux/amd64"},
	} {
		p, ok := platform.FromDaemon("linux", tt.machine)
		if !ok || p.String() != tt.want {
			t.Errorf("FromDaemon(linux, %q) = %q, %v; want %q", tt.machine, p, ok, tt.want)
		}
	}
	if p, ok := platform.FromDaemon("linux", "vax"); ok {
		t.Errorf("FromDaemon(linux, vax) = %q, known; want unknown", p)
	}
}

func TestParseNormalisesAndRefuses(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm64", "linux/arm64"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/amd64/v1", "linux/amd64"},
		{"linux/amd64/v3", "linux/amd64/v3"},
		{"linux/arm", "linux/arm/v7"},
		{"linux/arm/v6", "linux/arm/v6"},
		{"Linux/AArch64", "linux/arm64"},
		{"linux/x86_64", "linux/amd64"},
		{"linux/armv6l", "linux/arm/v6"},
		{" linux/386 ", "linux/386"},
	} {
		p, err := platform.Parse(tt.in)
		if err != nil || p.String() != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, p, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, problem string }{
		{"darwin/arm64", "Linux images"},
		{"windows/amd64", "Linux images"},
		{"linux/sparc", "unknown architecture \"sparc\""},
		{"linux/arm/v9", "unknown variant \"v9\" of arm (known: v7, v6, v5)"},
		{"linux/arm64/v9", "unknown variant"},
		{"linux", "os/arch"},
		{"linux//v7", "os/arch"},
		{"linux/arm/v7/x", "os/arch"},
		{"", "os/arch"},
	} {
		_, err := platform.Parse(tt.in)
		var pe *platform.ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.problem) {
			t.Errorf("Parse(%q) = %v; want a ParseError saying %q", tt.in, err, tt.problem)
		}
	}
}

func TestParseListRefusesDuplicatesAfterNormalising(t *testing.T) {
	ps, err := platform.ParseList("linux/amd64, linux/arm64,")
	if err != nil || !slices.Equal(ps, []platform.Platform{platform.LinuxAMD64, platform.LinuxARM64}) {
		t.Fatalf("ParseList = %v, %v", ps, err)
	}
	if _, err := platform.ParseList("linux/arm64,linux/aarch64"); err == nil || !strings.Contains(err.Error(), "linux/arm64 is listed twice") {
		t.Errorf("ParseList with a duplicate = %v", err)
	}
	if ps, err := platform.ParseList(""); err != nil || ps != nil {
		t.Errorf("ParseList(\"\") = %v, %v; want none", ps, err)
	}
}

func TestGoEnvTagAndQEMUName(t *testing.T) {
	for _, tt := range []struct {
		p        string
		env, tag string
		qemu     string
	}{
		{"linux/amd64", "GOOS=linux GOARCH=amd64", "linux-amd64", "x86_64"},
		{"linux/arm64", "GOOS=linux GOARCH=arm64", "linux-arm64", "aarch64"},
		{"linux/arm/v7", "GOOS=linux GOARCH=arm GOARM=7", "linux-arm-v7", "arm"},
		{"linux/arm/v6", "GOOS=linux GOARCH=arm GOARM=6", "linux-arm-v6", "arm"},
		{"linux/amd64/v3", "GOOS=linux GOARCH=amd64 GOAMD64=v3", "linux-amd64-v3", "x86_64"},
		{"linux/386", "GOOS=linux GOARCH=386", "linux-386", "i386"},
	} {
		p := platform.MustParse(tt.p)
		if got := strings.Join(p.GoEnv(), " "); got != tt.env {
			t.Errorf("%s GoEnv = %q, want %q", tt.p, got, tt.env)
		}
		if p.Tag() != tt.tag || p.QEMUName() != tt.qemu {
			t.Errorf("%s Tag, QEMUName = %q, %q; want %q, %q", tt.p, p.Tag(), p.QEMUName(), tt.tag, tt.qemu)
		}
	}
	var zero platform.Platform
	if zero.GoEnv() != nil || zero.String() != "" || !zero.IsZero() {
		t.Errorf("zero platform: GoEnv %v, String %q", zero.GoEnv(), zero.String())
	}
}
