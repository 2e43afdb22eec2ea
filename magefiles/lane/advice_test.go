package lane_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/settings"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// TestReleaseTagAdviceMatchesTheCause: a preview before the platform bump says what the real cause
// is (issue 13): the tag not yet created (tagRelease), the version already released from an earlier
// commit (bump platform), or a remote tag that really moved (fetch --force). Real git, a bare
// remote, the in-process registry; the messages are golden, commit hashes written as <…>.
func TestReleaseTagAdviceMatchesTheCause(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shipadvice")
	ctx := t.Context()
	r.commit(t, map[string]string{"CHANGELOG.md": "# Changelog\n\n## [1.0.0] - 2026-12-01\n\n- the first release\n"}, "the 1.0.0 section")
	// hashes writes the short hashes of revs in got as <rev>.
	hashes := func(got string, revs ...string) string {
		for _, rev := range revs {
			h := gittest.Git(t, r.root, "rev-parse", rev+"^{commit}")
			got = strings.ReplaceAll(got, h[:12], "<"+rev+">")
		}
		return got
	}

	// Not yet tagged: the preview says to create the tag, and refuses nothing.
	err := lane.ReleasePlan(ctx, r.config())
	var notes []string
	for _, l := range strings.Split(r.out.String(), "\n") {
		if strings.HasPrefix(l, "note: ") {
			notes = append(notes, l)
		}
	}
	if err != nil || len(notes) == 0 {
		t.Fatalf("releasePlan before the tag: err = %v\n%s", err, r.out)
	}
	golden.Check(t, "advice-not-yet-tagged", strings.Join(notes, "\n")+"\n")

	// Released, then later work, and the root VERSION not bumped: bump platform, not fetch.
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	r.commit(t, map[string]string{"README.md": "later work\n"}, "later work")
	r.out.Reset()
	err = lane.ReleasePlan(ctx, r.config())
	var tnh *guard.TagNotAtHead
	if !errors.As(err, &tnh) || tnh.Cause != guard.CauseReleased {
		t.Fatalf("releasePlan after the release, not bumped: err = %v\n%s", err, r.out)
	}
	golden.Check(t, "advice-released-not-bumped", hashes(err.Error(), "HEAD", "v1.0.0")+"\n")
	r.out.Reset()
	err = lane.TagRelease(ctx, r.config())
	var te *guard.TagExists
	if !errors.As(err, &te) {
		t.Fatalf("tagRelease after the release, not bumped: err = %v\n%s", err, r.out)
	}
	golden.Check(t, "advice-tagrelease-released", err.Error()+"\n")

	// The remote tag moved (to the later commit) while this clone's tag and HEAD stay at the
	// release: fetch --force.
	gittest.Git(t, r.root, "branch", "later")
	gittest.Git(t, r.root, "push", "-q", "--force", "origin", "later:refs/tags/v1.0.0")
	gittest.Git(t, r.root, "checkout", "-q", "v1.0.0")
	r.out.Reset()
	err = lane.ReleasePlan(ctx, r.config())
	if !errors.As(err, &tnh) || tnh.Cause != guard.CauseMoved {
		t.Fatalf("releasePlan with a moved remote tag: err = %v\n%s", err, r.out)
	}
	golden.Check(t, "advice-remote-tag-moved", hashes(err.Error(), "HEAD", "later")+"\n")
}

// TestInvalidRegistrySettingIsOneError: a registry or chart repository setting that is not a valid
// reference (upper case, as ghcr.io/${{ github.repository }} gives for an owner like "Acme"; a
// scheme) is one configuration error naming the setting, where it came from and the fix, returned
// by pushAllDev and releasePlan before anything else: nothing printed, no registry asked.
func TestInvalidRegistrySettingIsOneError(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shipinvalid")
	host := r.reg.Host()
	for _, tc := range []struct {
		name, env, value string
		run              func(context.Context, lane.Config) error
	}{
		{"pushalldev-upper-case", "DEV_REGISTRY", host + "/Acme/dev", lane.PushAllDev},
		{"releaseplan-upper-case", "RELEASE_REGISTRY", host + "/Acme/shiplane", lane.ReleasePlan},
		{"releaseplan-chart-repo-scheme", "RELEASE_CHART_REPO", "https://" + host + "/acme/charts", lane.ReleasePlan},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := r.env[tc.env]
			r.env[tc.env] = tc.value
			defer func() { r.env[tc.env] = old }()
			r.out.Reset()
			r.reg.Reset()
			err := tc.run(t.Context(), r.config())
			var ie *settings.InvalidError
			if !errors.As(err, &ie) || ie.Env != tc.env {
				t.Fatalf("err = %v, want one *settings.InvalidError from %s", err, tc.env)
			}
			if n := len(strings.Split(err.Error(), "\n")); n != 1 {
				t.Errorf("%d lines, want one error:\n%v", n, err)
			}
			if r.out.Len() > 0 || len(r.reg.Requests()) > 0 {
				t.Errorf("wrote or asked before refusing: output %q, %d registry requests", r.out, len(r.reg.Requests()))
			}
			golden.Check(t, "settings-"+tc.name, strings.ReplaceAll(err.Error(), host, "<registry>")+"\n")
		})
	}
}
