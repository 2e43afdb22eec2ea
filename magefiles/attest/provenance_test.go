package attest_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

func input() attest.ProvenanceInput {
	return attest.ProvenanceInput{
		SubjectName:      "registry.example/shiplane/core",
		SubjectDigest:    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		SourceRepository: "https://github.com/shiplane/shiplane",
		Commit:           "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
		Component:        "core",
		Version:          "1.4.0",
		InputsKey:        "9e26dfeeb6e641a33dae4961196235bdb965b21b",
		Platforms:        []string{"linux/arm64", "linux/amd64"},
		Dockerfile:       "services/core/Dockerfile",
		BaseImage:        "registry.example/shiplane/base:1.0.0",
		BaseImageDigest:  "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
		GoVersion:        "go1.26.8",
	}
}

func TestProvenanceGitHubActions(t *testing.T) {
	in := input()
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_SERVER_URL":   "https://github.com",
		"GITHUB_REPOSITORY":   "shiplane/shiplane",
		"GITHUB_WORKFLOW_REF": "shiplane/shiplane/.github/workflows/release.yml@refs/tags/v1.4.0",
		"GITHUB_RUN_ID":       "123456789",
		"GITHUB_RUN_ATTEMPT":  "2",
	}
	in.GitHub = attest.GitHubActionsFromEnv(func(k string) string { return env[k] })
	if in.GitHub == nil {
		t.Fatal("GitHubActionsFromEnv: nil under GitHub Actions")
	}
	got, err := attest.Provenance(in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := attest.Provenance(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Fatal("two statements from one input differ")
	}
	golden.File(t, filepath.Join("testdata", "provenance-github.golden"), string(got))

	s, err := attest.ParseProvenance(got)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != in.Commit || s.InputsKey != in.InputsKey || s.Repository != in.SourceRepository ||
		s.BuilderID != "https://github.com/shiplane/shiplane/.github/workflows/release.yml@refs/tags/v1.4.0" ||
		len(s.SubjectDigests) != 1 || s.SubjectDigests[0] != in.SubjectDigest {
		t.Errorf("ParseProvenance = %+v", s)
	}
}

func TestProvenanceLocal(t *testing.T) {
	in := input()
	in.BaseImage, in.BaseImageDigest = "", "" // FROM scratch
	if g := attest.GitHubActionsFromEnv(func(string) string { return "" }); g != nil {
		t.Fatalf("GitHubActionsFromEnv outside Actions = %+v, want nil", g)
	}
	got, err := attest.Provenance(in)
	if err != nil {
		t.Fatal(err)
	}
	golden.File(t, filepath.Join("testdata", "provenance-local.golden"), string(got))
}

func TestProvenanceRequiresCommit(t *testing.T) {
	in := input()
	in.Commit = ""
	if _, err := attest.Provenance(in); !errors.Is(err, attest.ErrIncompleteInput) {
		t.Fatalf("err = %v, want ErrIncompleteInput", err)
	}
}

func TestParseProvenanceRejectsOtherPredicates(t *testing.T) {
	st, err := attest.Statement("x", "sha256:"+strings.Repeat("ab", 32), attest.SBOMPredicateType, []byte(`{"bomFormat":"CycloneDX"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attest.ParseProvenance(st); !errors.Is(err, attest.ErrNotProvenance) {
		t.Fatalf("err = %v, want ErrNotProvenance", err)
	}
}
