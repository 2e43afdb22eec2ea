// Package platform names the platform an image is built for ("linux/arm64"), in the OCI form
// registries and the Engine API use, and says how the go command compiles for it. It is pure:
// planning code may import it.
package platform

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Platform is an OCI platform: operating system, CPU architecture and, for some architectures, a
// variant ("linux/arm/v7"). The zero value is "unspecified".
type Platform struct {
	// OS is the operating system, "linux" for every image this tool builds.
	OS string
	// Architecture is the CPU architecture in Go's (and OCI's) spelling: "amd64", "arm64", "arm".
	Architecture string
	// Variant is the CPU variant: "v6" or "v7" for arm, "v2" to "v4" for amd64; "" otherwise.
	Variant string
}

// Linux is the platform linux/<arch>[/<variant>].
func Linux(arch, variant string) Platform {
	return Platform{OS: "linux", Architecture: arch, Variant: variant}
}

// Common platforms.
var (
	LinuxAMD64 = Linux("amd64", "")
	LinuxARM64 = Linux("arm64", "")
)

// IsZero reports an unspecified platform.
func (p Platform) IsZero() bool { return p == Platform{} }

// String is the OCI form, "linux/arm64" or "linux/arm/v7"; "" for the zero platform.
func (p Platform) String() string {
	if p.IsZero() {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Tag is the platform as an image tag suffix: "linux-arm64", "linux-arm-v7".
func (p Platform) Tag() string { return strings.ReplaceAll(p.String(), "/", "-") }

// GoEnv is the go command's environment for compiling to p: GOOS and GOARCH, with GOARM for
// arm/v5-v7 and GOAMD64 for amd64/v2-v4. The zero platform gives none.
func (p Platform) GoEnv() []string {
	if p.IsZero() {
		return nil
	}
	env := []string{"GOOS=" + p.OS, "GOARCH=" + p.Architecture}
	switch {
	case p.Architecture == "arm" && p.Variant != "":
		env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	case p.Architecture == "amd64" && p.Variant != "":
		env = append(env, "GOAMD64="+p.Variant)
	}
	return env
}

// architectures are the Linux architectures Go compiles for, with the variants each accepts
// (the first is the default when none is named; "" means none).
var architectures = map[string][]string{
	"amd64":    {"", "v1", "v2", "v3", "v4"},
	"arm64":    {"", "v8"},
	"arm":      {"v7", "v6", "v5"},
	"386":      {""},
	"ppc64le":  {""},
	"ppc64":    {""},
	"s390x":    {""},
	"riscv64":  {""},
	"mips64le": {""},
	"mips64":   {""},
	"mipsle":   {""},
	"mips":     {""},
	"loong64":  {""},
}

// Architectures lists the architectures Parse accepts, sorted.
func Architectures() []string {
	return slices.Sorted(maps.Keys(architectures))
}

// ParseError is a platform string Parse refuses.
type ParseError struct {
	Input   string
	Problem string
}

func (e *ParseError) Error() string { return fmt.Sprintf("platform %q: %s", e.Input, e.Problem) }

// Parse reads "os/arch[/variant]" and normalises it the way containerd does: "linux/arm" is
// linux/arm/v7, "linux/arm64/v8" is linux/arm64, "linux/amd64/v1" is linux/amd64, and
// architecture aliases (x86_64, aarch64) become their Go names. Only linux is accepted: the
// images are Linux images.
func Parse(s string) (Platform, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return Platform{}, &ParseError{Input: s, Problem: "not of the form os/arch or os/arch/variant (e.g. linux/arm64, linux/arm/v7)"}
	}
	if strings.ToLower(parts[0]) != "linux" {
		return Platform{}, &ParseError{Input: s, Problem: fmt.Sprintf("operating system %q is not supported: the images are Linux images (write linux/<arch>)", parts[0])}
	}
	arch, variant := strings.ToLower(parts[1]), ""
	if len(parts) == 3 {
		variant = strings.ToLower(parts[2])
	}
	if a, v, ok := alias(arch); ok && a != arch {
		if variant == "" {
			variant = v
		}
		arch = a
	}
	variants, ok := architectures[arch]
	if !ok {
		return Platform{}, &ParseError{Input: s, Problem: fmt.Sprintf("unknown architecture %q (known: %s)", parts[1], strings.Join(Architectures(), ", "))}
	}
	if variant == "" {
		variant = variants[0]
	}
	if !slices.Contains(variants, variant) {
		return Platform{}, &ParseError{Input: s, Problem: fmt.Sprintf("unknown variant %q of %s (known: %s)", parts[2], arch, strings.Join(slices.DeleteFunc(slices.Clone(variants), func(v string) bool { return v == "" }), ", "))}
	}
	switch {
	case arch == "arm64" && variant == "v8", arch == "amd64" && variant == "v1":
		variant = "" // the baseline, written without a variant as registries do
	}
	return Linux(arch, variant), nil
}

// MustParse is Parse for constants in tests and tables; it panics on a bad platform.
func MustParse(s string) Platform {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// ParseList reads a comma-separated list ("linux/amd64,linux/arm64"), refusing duplicates.
func ParseList(s string) ([]Platform, error) {
	var out []Platform
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		p, err := Parse(f)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, p) {
			return nil, &ParseError{Input: s, Problem: fmt.Sprintf("%s is listed twice", p)}
		}
		out = append(out, p)
	}
	return out, nil
}

// FromDaemon turns what a Docker daemon's /info says (OSType "linux", Architecture as uname -m
// prints it: "x86_64", "aarch64", "armv7l") into its OCI platform. ok is false for an
// architecture it does not know; the platform then carries the daemon's words unchanged.
func FromDaemon(osType, machine string) (p Platform, ok bool) {
	arch, variant, ok := alias(strings.ToLower(strings.TrimSpace(machine)))
	if !ok {
		return Platform{OS: strings.ToLower(osType), Architecture: machine}, false
	}
	return Platform{OS: strings.ToLower(osType), Architecture: arch, Variant: variant}, true
}

// alias maps an architecture as uname -m, Go or OCI spells it to Go's name and variant.
func alias(machine string) (arch, variant string, ok bool) {
	switch machine {
	case "x86_64", "x86-64", "amd64", "x64":
		return "amd64", "", true
	case "aarch64", "arm64", "armv8", "armv8b", "aarch64_be":
		return "arm64", "", true
	case "armv7l", "armv7", "armv7hl", "armhf", "armv8l":
		// armv8l is a 32-bit userland on an ARMv8 core: it runs arm/v7 code.
		return "arm", "v7", true
	case "armv6l", "armv6", "armel":
		return "arm", "v6", true
	case "armv5l", "armv5", "armv5tel", "armv5tejl":
		return "arm", "v5", true
	case "arm":
		return "arm", "", true
	case "i386", "i486", "i586", "i686", "386", "x86":
		return "386", "", true
	case "ppc64le", "ppc64el", "powerpc64le":
		return "ppc64le", "", true
	case "ppc64", "powerpc64":
		return "ppc64", "", true
	case "s390x":
		return "s390x", "", true
	case "riscv64":
		return "riscv64", "", true
	case "mips64le", "mips64el":
		return "mips64le", "", true
	case "mips64":
		return "mips64", "", true
	case "mipsle", "mipsel":
		return "mipsle", "", true
	case "mips":
		return "mips", "", true
	case "loongarch64", "loong64":
		return "loong64", "", true
	}
	return "", "", false
}

// QEMUName is the name binfmt_misc gives p's emulator on Linux (/proc/sys/fs/binfmt_misc/qemu-<name>),
// as tonistiigi/binfmt and qemu-user-static register it: "aarch64", "arm", "x86_64".
func (p Platform) QEMUName() string {
	switch p.Architecture {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i386"
	case "loong64":
		return "loongarch64"
	case "mipsle":
		return "mipsel"
	case "mips64le":
		return "mips64el"
	}
	return p.Architecture
}

// SameArch reports whether host runs p's programs without emulation: the same OS and
// architecture (variants aside). An arm64 kernel that also runs 32-bit arm, or an amd64 one that
// runs 386, is not counted: whether it does depends on the kernel, so it is treated as foreign.
func (p Platform) SameArch(host Platform) bool {
	return p.OS == host.OS && p.Architecture == host.Architecture
}
