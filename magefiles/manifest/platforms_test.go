package manifest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/platform"
)

func TestPlatformsDefaultAndOverride(t *testing.T) {
	yaml := strings.Replace(good, "components:\n", "platforms: [linux/amd64, linux/aarch64, linux/arm]\ncomponents:\n", 1)
	yaml = strings.Replace(yaml, "      from: base\n", "      from: base\n      platforms: [linux/arm64]\n", 1)
	m, errs := manifest.Parse("c.yaml", []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	all := []platform.Platform{platform.LinuxAMD64, platform.LinuxARM64, platform.MustParse("linux/arm/v7")}
	if !slices.Equal(m.Platforms, all) {
		t.Errorf("top-level platforms = %v, want %v", m.Platforms, all)
	}
	if got := m.Component("base").Image.Platforms; !slices.Equal(got, all) {
		t.Errorf("base (no platforms of its own) = %v, want the default %v", got, all)
	}
	if got := m.Component("api").Image.Platforms; !slices.Equal(got, []platform.Platform{platform.LinuxARM64}) {
		t.Errorf("api (its own) = %v, want [linux/arm64]", got)
	}

	m, errs = manifest.Parse("c.yaml", []byte(good))
	if len(errs) > 0 || m.Platforms != nil || m.Component("api").Image.Platforms != nil {
		t.Errorf("without platforms: %v, %v, %v; want none (the engine's own)", errs, m.Platforms, m.Component("api").Image.Platforms)
	}
}

func TestPlatformsValidation(t *testing.T) {
	top := func(list string) string {
		return strings.Replace(good, "components:\n", "platforms: "+list+"\ncomponents:\n", 1)
	}
	own := func(yaml, list string) string {
		return strings.Replace(yaml, "      from: base\n", "      from: base\n      platforms: "+list+"\n", 1)
	}
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"not linux", top("[linux/amd64, darwin/arm64]"),
			[]string{"c.yaml:6:", `platforms: "darwin/arm64": operating system "darwin" is not supported`, "fix: write linux/<arch>[/<variant>]"}},
		{"unknown architecture", top("[linux/amd46]"),
			[]string{"c.yaml:6:", `unknown architecture "amd46"`, "architectures: 386, amd64, arm, arm64"}},
		{"duplicate after normalising", top("[linux/arm64, linux/aarch64]"),
			[]string{"c.yaml:6:", "platforms lists linux/arm64 twice (first at line 6) (linux/aarch64 is linux/arm64)", "fix: remove one of them"}},
		{"empty", top("[]"),
			[]string{"c.yaml:6:", "platforms is empty", "remove the key for the default"}},
		{"not a list", top("linux/amd64"),
			[]string{"c.yaml:6:", "expected a list", "fix: write a list"}},
		{"component's own, unknown", own(good, "[linux/arm/v9]"),
			[]string{"c.yaml:19:", `component "api"`, `image.platforms: "linux/arm/v9": unknown variant "v9" of arm`}},
		{"a platform its base is not built for", own(top("[linux/amd64]"), "[linux/amd64, linux/arm64]"),
			[]string{"c.yaml:20:", `component "api"`, `image is built for linux/arm64, but its base "base" is not (it is built for linux/amd64)`, `fix: add linux/arm64 to "base"'s image.platforms`}},
		{"platforms with a base that names none", own(good, "[linux/arm64]"),
			[]string{"c.yaml:19:", `its base "base" names no platforms`}},
	} {
		_, errs := manifest.Parse("c.yaml", []byte(tt.yaml))
		msg := errs.Error()
		if len(errs) != 1 {
			t.Errorf("%s: %d errors, want 1:\n%s", tt.name, len(errs), msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error lacks %q:\n%s", tt.name, w, msg)
			}
		}
	}
}
