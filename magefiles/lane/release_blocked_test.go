package lane_test

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// TestReleaseAllowBlocked: core is never published (publish: false), so the connectors and the
// umbrella chart, which need it, are blocked. tagRelease and releaseAll refuse that; with
// ALLOW_BLOCKED=1 the rest is published, nothing blocked is (no image, chart or tag, no umbrella
// archive among the assets), and the release notes (golden) hold the changelog's section, a
// component's own section, and name the blocked components and the blocked umbrella. A re-run
// writes nothing.
func TestReleaseAllowBlocked(t *testing.T) {
	r := newReleaseRepo(t, "shipblocked")
	ctx := t.Context()
	ws, err := lane.Open(ctx, r.config())
	if err != nil {
		t.Fatal(err)
	}
	components := ws.Manifest.File
	raw, err := os.ReadFile(filepath.Join(r.root, components))
	if err != nil {
		t.Fatal(err)
	}
	data := string(raw)
	edited := strings.Replace(data, "    compose: compose/core.yaml\n    depends_on: [base]\n", "    compose: compose/core.yaml\n    depends_on: [base]\n    publish: false\n", 1)
	if edited == data {
		t.Fatalf("%s: core's block was not found to add publish: false", components)
	}
	r.commit(t, map[string]string{
		components:                  edited,
		"CHANGELOG.md":              "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-12-01\n\n### Added\n\n- the platform, less core for now\n",
		"services/web/CHANGELOG.md": "# web\n\n## [0.1.0] - 2026-11-30\n\n### Added\n\n- the static page\n",
	}, "core is not published yet")

	err = lane.TagRelease(ctx, r.config())
	var blocked *guard.Blocked
	if !errors.As(err, &blocked) || !strings.Contains(err.Error(), "ALLOW_BLOCKED=1") {
		t.Fatalf("tagRelease with blocked components: err = %v\n%s", err, r.out)
	}
	r.assertNotTagged(t)

	r.env["ALLOW_BLOCKED"] = "1"
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	if err := lane.ReleaseAll(ctx, r.config()); err != nil {
		t.Fatalf("releaseAll: %v\n%s", err, r.out)
	}

	reg := registry.New()
	published := map[string]bool{"base": true, "scanner": true, "web": true}
	tags := r.remoteTags(t)
	for _, c := range ws.Manifest.Components {
		img, err := reg.Image(ctx, r.reg.Ref("rel/"+c.Image.Name+":"+c.Version))
		if err != nil {
			t.Fatal(err)
		}
		hasTag := strings.Contains(tags, "refs/tags/"+lane.ComponentTag(c.Name, c.Version)+" ")
		if img.Present != published[c.Name] || hasTag != published[c.Name] {
			t.Errorf("%s: image published %v, tag pushed %v; want %v", c.Name, img.Present, hasTag, published[c.Name])
		}
	}
	umbrella := r.reg.Ref("rel/charts/platform:" + ws.Manifest.Platform.Version)
	if _, present, err := reg.Digest(ctx, umbrella); err != nil || present {
		t.Errorf("the blocked umbrella chart %s: present %v, %v", umbrella, present, err)
	}

	rels := r.gh.Releases()
	if len(rels) != 1 || rels[0].Draft || rels[0].Tag != "v1.0.0" {
		t.Fatalf("GitHub releases: %+v", rels)
	}
	var names []string
	for _, a := range rels[0].Assets {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	if got, want := strings.Join(names, " "), "SHA256SUMS release-manifest.json release-manifest.json.sigstore.json scanner-0.9.0.tgz web-0.1.0.tgz"; got != want {
		t.Errorf("assets = %s, want %s", got, want)
	}
	head := strings.TrimSpace(gittest.Git(t, r.root, "rev-parse", "HEAD"))
	body := strings.ReplaceAll(rels[0].Body, head, "<commit>")
	golden.Check(t, "notes-release-allow-blocked", body)

	r.reg.Reset()
	r.gh.ResetCounts()
	tagsBefore := r.remoteTags(t)
	if err := lane.ReleaseAll(ctx, r.config()); err != nil {
		t.Fatalf("re-run: %v\n%s", err, r.out)
	}
	if r.reg.Writes() != 0 || r.gh.Writes() != 0 || r.remoteTags(t) != tagsBefore {
		t.Errorf("the re-run wrote: registry %d, GitHub %d, tags changed %v", r.reg.Writes(), r.gh.Writes(), r.remoteTags(t) != tagsBefore)
	}
	r.assertNoSecret(t)
}
