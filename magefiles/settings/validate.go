package settings

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// InvalidError is a registry or chart repository setting that is not a valid reference: one
// configuration error, found when the settings are loaded, before any lane asks a registry
// anything (rather than one "cannot tell whether … is published" per artifact).
type InvalidError struct {
	// Setting is the setting ("dev.registry", "release.chart_repo"); Env the environment
	// variable its value came from, or "" when it came from the settings file.
	Setting, Env string
	// File and Line locate the value in the settings file when it came from there ("" and 0
	// otherwise: the environment, or the defaults).
	File string
	Line int
	// Value is the value as set.
	Value string
	// Problem says what is wrong with it; Fix how to correct it.
	Problem, Fix string
}

func (e *InvalidError) Error() string {
	var where string
	switch {
	case e.Env != "":
		where = fmt.Sprintf("%s %q (from the environment, overriding %s)", e.Env, e.Value, e.Setting)
	case e.File != "":
		where = fmt.Sprintf("%s:%d: %s %q", e.File, e.Line, e.Setting, e.Value)
	default:
		where = fmt.Sprintf("%s %q (the default)", e.Setting, e.Value)
	}
	return fmt.Sprintf("%s is not a valid %s: %s; fix: %s", where, e.kind(), e.Problem, e.Fix)
}

func (e *InvalidError) kind() string {
	if strings.HasSuffix(e.Setting, ".chart_repo") {
		return "chart repository (oci://host[:port]/path)"
	}
	return "registry (host[:port]/path, in lower case)"
}

// Location is where the value is written: the settings file and its line, or "" and 0 when it
// came from the environment.
func (e *InvalidError) Location() (file string, line int) { return e.File, e.Line }

// pathComponent is one component of a repository path, as the OCI distribution specification
// writes it.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)

// checkRegistry checks an image repository prefix (host[:port]/path): the reference grammar of
// go-containerregistry's name package (strict: the host is named), plus the OCI distribution
// specification's path components, which that package does not check.
func checkRegistry(v string) (problem, fix string) {
	if scheme, rest, ok := strings.Cut(v, "://"); ok {
		return fmt.Sprintf("it has a scheme (%s://); a registry is named by its host", scheme), fmt.Sprintf("drop the scheme: %s", rest)
	}
	return checkPrefix(v)
}

// checkChartRepo checks an OCI chart repository: oci:// and an image repository prefix.
func checkChartRepo(v string) (problem, fix string) {
	rest, ok := strings.CutPrefix(v, "oci://")
	if !ok {
		if scheme, after, has := strings.Cut(v, "://"); has {
			return fmt.Sprintf("charts are pushed to an OCI registry, not over %s://", scheme), fmt.Sprintf("write oci://%s", after)
		}
		return "", "" // no scheme at all: the lane that needs it says so (requireTarget)
	}
	return checkPrefix(strings.TrimSuffix(rest, "/"))
}

func checkPrefix(v string) (problem, fix string) {
	const general = "write host[:port]/path with lower-case letters, digits and . _ - in each path part, e.g. ghcr.io/acme/shiplane"
	host, path, _ := strings.Cut(v, "/")
	if path != "" {
		for _, part := range strings.Split(path, "/") {
			switch {
			case pathComponent.MatchString(part):
				continue
			case pathComponent.MatchString(strings.ToLower(part)):
				return fmt.Sprintf("repository names are lower case, and %q is not", part), ""
			case part == "":
				return "it has an empty path part (\"//\")", fmt.Sprintf("write %s/%s", host, strings.Join(nonEmpty(strings.Split(path, "/")), "/"))
			case strings.ContainsAny(part, ":@"):
				bare, _, _ := strings.Cut(v, ":")
				if h, _, ok := strings.Cut(path, ":"); ok {
					bare = host + "/" + h
				}
				return fmt.Sprintf("path part %q holds a tag or digest; the lanes add :<version> themselves", part), fmt.Sprintf("write %s", strings.Split(bare, "@")[0])
			}
			return fmt.Sprintf("path part %q is not lower-case letters and digits separated by . _ __ or -", part), general
		}
	}
	// The host, as go-containerregistry's name package reads it: strictly, so a first part that
	// is not a host (no dot, no port, not localhost) is refused rather than read as Docker Hub.
	if _, err := name.NewRepository(v+"/x", name.StrictValidation); err != nil {
		if !strings.ContainsAny(host, ".:") && host != "localhost" {
			return fmt.Sprintf("it names no registry host (%q has no dot or port and is not localhost)", host), fmt.Sprintf("write the registry's host first, e.g. ghcr.io/%s", v)
		}
		return strings.TrimSuffix(err.Error(), "/x"), general
	}
	return "", ""
}

// lowerFix is the fix for a value that is valid once lower-cased: the value to write where it came
// from; for the environment, also how a GitHub Actions workflow lower-cases the repository's name
// (ghcr.io/${{ github.repository }} keeps the owner's capitals, as in "Acme").
func lowerFix(setting, env, lower string) string {
	if env == "" {
		return fmt.Sprintf("lower-case it: %s: %s", setting, lower)
	}
	example := "ghcr.io/${GITHUB_REPOSITORY,,}"
	if strings.HasSuffix(setting, ".chart_repo") {
		example = "oci://ghcr.io/${GITHUB_REPOSITORY,,}/charts"
	}
	return fmt.Sprintf("lower-case it: %s=%s; in GitHub Actions, set it lower-cased from the repository's name: echo \"%s=%s\" >> $GITHUB_ENV", env, lower, env, example)
}

func nonEmpty(parts []string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
