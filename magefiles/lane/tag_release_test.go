package lane_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/changelog"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// commit writes files in the release repository, commits them and pushes the branch.
func (r *releaseRepo) commit(t *testing.T, files map[string]string, msg string) {
	t.Helper()
	gittest.Write(t, r.root, files)
	gittest.Git(t, r.root, "add", "-A")
	gittest.Git(t, r.root, "commit", "-q", "-m", msg)
	gittest.Git(t, r.root, "push", "-q", "origin", "HEAD:refs/heads/main")
}

// assertNotTagged: neither the local repository nor the remote (asked with real git) has v1.0.0.
func (r *releaseRepo) assertNotTagged(t *testing.T) {
	t.Helper()
	if tags := r.remoteTags(t); strings.Contains(tags, "refs/tags/v1.0.0") {
		t.Errorf("the remote has the release tag after a refusal:\n%s", tags)
	}
	if local := gittest.Git(t, r.root, "tag", "--list", "v1.0.0"); strings.TrimSpace(local) != "" {
		t.Errorf("the local tag v1.0.0 was created after a refusal")
	}
}

// TestTagReleaseRefusesBeforeCreatingAnything: what releaseAll would refuse on, tagRelease
// refuses first (and releasePlan shows a malformed release file among its refusals), with the file, the line and the fix, and creates no tag, locally or on the remote.
func TestTagReleaseRefusesBeforeCreatingAnything(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shiptagrefuse")
	ctx := t.Context()

	t.Run("malformed release file", func(t *testing.T) {
		r.commit(t, map[string]string{"deploy/release.yaml": "verify:\n  - name: tests\n    runs: go test ./...\n"}, "a typo in the release file")
		err := lane.TagRelease(ctx, r.config())
		if err == nil {
			t.Fatal("tagRelease accepted a malformed release file")
		}
		golden.Check(t, "tagrelease-malformed-release", err.Error()+"\n")
		r.assertNotTagged(t)
		// releasePlan refuses it too, in its refusals.
		r.out.Reset()
		err = lane.ReleasePlan(ctx, r.config())
		want := `  - deploy/release.yaml:3: verify goal "tests": unknown key "runs"; fix: did you mean "run"?`
		// Printed once: in the error, not in the plan's text as well.
		if err == nil || !strings.Contains(err.Error(), "\n"+want) || strings.Contains(r.out.String(), `unknown key "runs"`) {
			t.Errorf("releasePlan with a malformed release file: err = %v\n%s", err, r.out)
		}
	})

	t.Run("unset variable in the release file", func(t *testing.T) {
		r.commit(t, map[string]string{"deploy/release.yaml": "verify:\n  - name: tests\n    run: echo ${env!SHIPLANE_TEST_SURELY_UNSET}\n"}, "an env reference")
		err := lane.TagRelease(ctx, r.config())
		if err == nil || !strings.Contains(err.Error(), "deploy/release.yaml:3") || !strings.Contains(err.Error(), "SHIPLANE_TEST_SURELY_UNSET is not set") {
			t.Fatalf("err = %v", err)
		}
		r.assertNotTagged(t)
	})
	r.commit(t, map[string]string{"deploy/release.yaml": "verify:\n  - name: marker\n    run: test -n \"${sh!touch sh-ran && echo x}\"\n"}, "a release file with a sh! reference")

	t.Run("no changelog section for the version", func(t *testing.T) {
		r.commit(t, map[string]string{"CHANGELOG.md": "# Changelog\n\n## [0.9.0] - 2026-01-01\n"}, "a changelog without 1.0.0")
		err := lane.TagRelease(ctx, r.config())
		var me *changelog.MissingSectionError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), `CHANGELOG.md has no section for the release version 1.0.0: add a heading "## [1.0.0] - YYYY-MM-DD"`) {
			t.Fatalf("err = %v", err)
		}
		r.assertNotTagged(t)
	})
	r.commit(t, map[string]string{"CHANGELOG.md": "# Changelog\n\n## [1.0.0] - 2026-12-01\n\n- the first release\n"}, "the 1.0.0 section")

	t.Run("settings missing", func(t *testing.T) {
		r.env["RELEASE_CHART_REPO"] = "charts.example"
		defer func() { r.env["RELEASE_CHART_REPO"] = "oci://" + r.reg.Host() + "/rel/charts" }()
		err := lane.TagRelease(ctx, r.config())
		if err == nil || !strings.Contains(err.Error(), `RELEASE_CHART_REPO as oci://host/path (or release.chart_repo in deploy/settings.yaml; got "charts.example")`) {
			t.Fatalf("err = %v", err)
		}
		r.assertNotTagged(t)
	})

	// Everything in order: tagged, and the release file's sh! command was never run.
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	if !strings.Contains(r.remoteTags(t), "refs/tags/v1.0.0 ") {
		t.Errorf("the remote lacks v1.0.0:\n%s", r.remoteTags(t))
	}
	if _, err := os.Stat(filepath.Join(r.root, "sh-ran")); !errors.Is(err, os.ErrNotExist) {
		t.Error("tagRelease ran a sh! command of the release file without -verify")
	}
	gittest.Git(t, r.root, "push", "-q", "origin", ":refs/tags/v1.0.0")
	gittest.Git(t, r.root, "tag", "-d", "v1.0.0")

	t.Run("version published from other inputs", func(t *testing.T) {
		img := fakeImage(t, map[string]string{"dev.shiplane.inputs": "sha256:other"})
		if _, err := registry.New().Push(ctx, img, []string{r.reg.Ref("rel/core:1.2.0")}); err != nil {
			t.Fatal(err)
		}
		err := lane.TagRelease(ctx, r.config())
		var pdi *guard.PublishedWithDifferentInputs
		if !errors.As(err, &pdi) || pdi.Component != "core" || !strings.Contains(r.out.String(), "verdict: releaseAll would refuse") {
			t.Fatalf("err = %v\n%s", err, r.out)
		}
		r.assertNotTagged(t)
	})
}

// TestTagReleaseAsksOnAFakeTerminal: on a terminal (a fake terminal check, injected through
// Config) tagRelease prints the plan and asks; anything but yes creates nothing; -yes and CI=true
// skip the question.
func TestTagReleaseAsksOnAFakeTerminal(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shiptagask")
	r.env["CI"] = "" // the question is asked, even when the tests run in CI
	ctx := t.Context()
	onTerminal := func(answer string) lane.Config {
		cfg := r.config()
		cfg.IsTerminal = func() bool { return true }
		cfg.Stdin = strings.NewReader(answer)
		return cfg
	}
	head := strings.TrimSpace(gittest.Git(t, r.root, "rev-parse", "HEAD"))[:12] // one hash length everywhere
	question := "Tag v1.0.0 at " + head + " and push it to origin? [y/N] "

	for _, answer := range []string{"n\n", "\n", ""} {
		r.out.Reset()
		err := lane.TagRelease(ctx, onTerminal(answer))
		var nc *lane.NotConfirmedError
		if !errors.As(err, &nc) || !strings.Contains(r.out.String(), question) || !strings.Contains(r.out.String(), "verdict: releaseAll would publish") {
			t.Fatalf("answer %q: err = %v\n%s", answer, err, r.out)
		}
		r.assertNotTagged(t)
	}

	r.env["CI"] = "true"
	r.out.Reset()
	cfg := onTerminal("n\n")
	cfg.Yes = false
	if err := lane.TagRelease(ctx, cfg); err != nil || strings.Contains(r.out.String(), question) {
		t.Fatalf("CI=true: err = %v\n%s", err, r.out)
	}
	r.env["CI"] = ""
	gittest.Git(t, r.root, "push", "-q", "origin", ":refs/tags/v1.0.0")
	gittest.Git(t, r.root, "tag", "-d", "v1.0.0")

	r.out.Reset()
	cfg = onTerminal("")
	cfg.Yes = true
	if err := lane.TagRelease(ctx, cfg); err != nil || strings.Contains(r.out.String(), question) {
		t.Fatalf("-yes: err = %v\n%s", err, r.out)
	}
	gittest.Git(t, r.root, "push", "-q", "origin", ":refs/tags/v1.0.0")
	gittest.Git(t, r.root, "tag", "-d", "v1.0.0")

	r.out.Reset()
	if err := lane.TagRelease(ctx, onTerminal("y\n")); err != nil || !strings.Contains(r.out.String(), question) {
		t.Fatalf("answer y: err = %v\n%s", err, r.out)
	}
	if !regexp.MustCompile(`refs/tags/v1\.0\.0 [0-9a-f]{40}`).MatchString(r.remoteTags(t)) {
		t.Errorf("answered y, and the remote lacks v1.0.0:\n%s", r.remoteTags(t))
	}
}

// TestTagReleaseVerify: -verify runs the verification goals here before tagging; a failing one
// tags nothing.
func TestTagReleaseVerify(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shiptagverify")
	ctx := t.Context()
	r.commit(t, map[string]string{"deploy/release.yaml": "verify:\n  - name: tests\n    run: echo failing on purpose; exit 3\n"}, "a failing verification")
	cfg := r.config()
	cfg.Verify = true
	err := lane.TagRelease(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "verifying before tagging (-verify)") || !strings.Contains(err.Error(), "tests: failed") {
		t.Fatalf("err = %v\n%s", err, r.out)
	}
	r.assertNotTagged(t)

	marker := filepath.Join(t.TempDir(), "verified")
	r.commit(t, map[string]string{"deploy/release.yaml": "verify:\n  - name: tests\n    run: touch " + marker + "\n"}, "a passing verification")
	if err := lane.TagRelease(ctx, cfg); err != nil {
		t.Fatalf("tagRelease -verify: %v\n%s", err, r.out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the verification goal did not run: %v", err)
	}
	if !strings.Contains(r.remoteTags(t), "refs/tags/v1.0.0 ") {
		t.Errorf("the remote lacks v1.0.0:\n%s", r.remoteTags(t))
	}
}
