package lane_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// publishedImage is an image as the release registry serves it.
type publishedImage struct {
	digest v1.Hash
	layers []v1.Hash
	labels map[string]string
}

func readPublished(t *testing.T, ref string) publishedImage {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	var p publishedImage
	if p.digest, err = img.Digest(); err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		p.layers = append(p.layers, l.Digest)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	p.labels = cfg.Config.Labels
	return p
}

// TestReleasesReuseThePublishedBase: two releases in a row, the second after a change to core
// only, on a fresh machine (nothing in the daemon). The second release finds base published and
// writes nothing for it; the base it rebuilds to build core FROM has the published digest, byte
// for byte; core's published image starts with exactly the published base's layers, and none of
// them is uploaded again. A third release, after base changed, rebuilds base and every image FROM
// it with new digests: nothing stale is reused.
func TestReleasesReuseThePublishedBase(t *testing.T) {
	const project = "shipbases"
	r := newReleaseRepo(t, project)
	d := testenv.RequireDocker(t)
	testenv.CleanupImages(t, d, project)
	ctx := t.Context()
	release := func(what string) *lane.Workspace {
		t.Helper()
		r.reg.Reset()
		r.out.Reset()
		if err := lane.TagRelease(ctx, r.config()); err != nil {
			t.Fatalf("%s tagRelease: %v\n%s", what, err, r.out)
		}
		if err := lane.ReleaseAll(ctx, r.config()); err != nil {
			t.Fatalf("%s releaseAll: %v\n%s", what, err, r.out)
		}
		ws, err := lane.Open(ctx, r.config())
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	ref := func(ws *lane.Workspace, component string) string {
		c := ws.Manifest.Component(component)
		return r.reg.Ref("rel/" + c.Image.Name + ":" + c.Version)
	}
	// uploads lists the blobs the registry received in full (each upload ends with a PUT ?digest=).
	uploads := func() map[string][]string {
		out := map[string][]string{}
		for _, q := range r.reg.Matching(http.MethodPut, "/blobs/uploads/") {
			v, _ := url.ParseQuery(q.Query)
			out[v.Get("digest")] = append(out[v.Get("digest")], q.Path)
		}
		return out
	}
	bump := func(components ...string) {
		t.Helper()
		for _, c := range append(components, lane.PlatformComponent) {
			if err := lane.Bump(ctx, r.config(), c, "patch"); err != nil {
				t.Fatalf("bump %s: %v", c, err)
			}
		}
	}

	ws1 := release("first release")
	base1, core1 := readPublished(t, ref(ws1, "base")), readPublished(t, ref(ws1, "core"))
	if len(base1.layers) == 0 || len(core1.layers) <= len(base1.layers) {
		t.Fatalf("base has %d layers, core %d", len(base1.layers), len(core1.layers))
	}
	// Each base layer goes up once, into base's repository, and is mounted into core's.
	up := uploads()
	for _, l := range base1.layers {
		if paths := up[l.String()]; len(paths) != 1 || !strings.Contains(paths[0], "/rel/base/") {
			t.Errorf("first release: base layer %s uploaded to %v, want once to rel/base", l, paths)
		}
		if len(r.reg.Matching(http.MethodPost, "/v2/rel/core/blobs/uploads/")) == 0 {
			t.Errorf("first release: nothing mounted or uploaded into rel/core")
		}
	}
	if want := ws1.Inputs["base"].Hash; base1.labels[identity.LabelRevision] != want || want == ws1.Head.Hash {
		t.Errorf("first release: base's revision %q, want its inputs' last commit %s (HEAD %s)", base1.labels[identity.LabelRevision], want, ws1.Head.Hash)
	}

	// Core changes, and only core; the release runs on a fresh machine.
	gittest.Write(t, r.root, map[string]string{"services/core/CHANGES.md": "1.2.1: notes\n"})
	bump("core")
	second := gittest.CommitAt(t, r.root, "core 1.2.1", ws1.Head.Time.Add(30*24*time.Hour))
	if err := testenv.RemoveImages(ctx, d, project); err != nil {
		t.Fatal(err)
	}
	ws2 := release("second release")
	if ws2.Head.Hash != second || ws2.Inputs["base"] != ws1.Inputs["base"] || ws2.Inputs["core"].Hash != second {
		t.Fatalf("second release: HEAD %s, base's inputs %+v (were %+v), core's %+v", ws2.Head.Hash, ws2.Inputs["base"], ws1.Inputs["base"], ws2.Inputs["core"])
	}
	// The plan found base published: nothing written to its repository, its push already achieved.
	if n := len(r.reg.Matching(http.MethodPut, "/v2/rel/base/")) + len(r.reg.Matching(http.MethodPost, "/v2/rel/base/")) + len(r.reg.Matching(http.MethodPatch, "/v2/rel/base/")); n != 0 {
		t.Errorf("second release: %d writes to rel/base\n%s", n, r.reg.Dump())
	}
	var rep goal.Report
	readReport(t, r.report, &rep)
	pushed := false
	for _, res := range rep.Results {
		if res.Component == "base" && strings.Contains(res.Goal, "rel/base:") {
			pushed = true
			if res.Status != goal.AlreadyAchieved || res.Digest != base1.digest.String() {
				t.Errorf("second release: %s (digest %s), want already achieved at %s", res.Line(), res.Digest, base1.digest)
			}
		}
	}
	if !pushed {
		t.Errorf("second release: no result for base's image:\n%s", r.out)
	}
	// Rebuilt from nothing, base is byte for byte the published one.
	local, err := ws2.Reproducible(registry.NewDaemon(d.API())).LocalImage(ctx, ws2.LocalImage(ws2.Manifest.Component("base"))+":"+ws2.Manifest.Component("base").Version)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := local.Digest(); err != nil || h != base1.digest {
		t.Errorf("second release: base rebuilt to %s (%v), published %s", h, err, base1.digest)
	}
	// Core 1.2.1 is FROM base as published, and none of base's layers went up again.
	core2 := readPublished(t, ref(ws2, "core"))
	if core2.digest == core1.digest || len(core2.layers) <= len(base1.layers) {
		t.Fatalf("second release: core %s with %d layers (first release: %s)", core2.digest, len(core2.layers), core1.digest)
	}
	for i, l := range base1.layers {
		if core2.layers[i] != l {
			t.Errorf("second release: core's layer %d is %s, the published base's is %s", i, core2.layers[i], l)
		}
	}
	up = uploads()
	for _, l := range base1.layers {
		if paths := up[l.String()]; len(paths) != 0 {
			t.Errorf("second release: base layer %s uploaded again to %v", l, paths)
		}
		// The push found it in core's repository (from core 1.2.0), or mounted it.
		there := len(r.reg.Matching(http.MethodHead, "/v2/rel/core/blobs/"+l.String())) > 0
		for _, m := range r.reg.Matching(http.MethodPost, "/v2/rel/core/blobs/uploads/") {
			there = there || strings.Contains(m.Query, "mount="+url.QueryEscape(l.String())) && m.Status == http.StatusCreated
		}
		if !there {
			t.Errorf("second release: base layer %s neither found nor mounted in rel/core\n%s", l, r.reg.Dump())
		}
	}
	if len(up) == 0 {
		t.Error("second release: nothing uploaded at all (core's own layers must be)")
	}
	if core2.labels[identity.LabelRevision] != second {
		t.Errorf("second release: core's revision %q, want %s", core2.labels[identity.LabelRevision], second)
	}

	// Base changes: base and every image FROM it are bumped and rebuilt.
	gittest.Write(t, r.root, map[string]string{"services/base/rootfs/etc/shiplane-release": "3\n"})
	bump("base", "core", "connector-fs", "connector-webhook", "scanner")
	third := gittest.CommitAt(t, r.root, "base changed", ws2.Head.Time.Add(30*24*time.Hour))
	ws3 := release("third release")
	base3, core3 := readPublished(t, ref(ws3, "base")), readPublished(t, ref(ws3, "core"))
	if base3.digest == base1.digest || core3.digest == core2.digest || base3.labels[identity.LabelRevision] != third {
		t.Errorf("third release: base %s (was %s, revision %q), core %s (was %s)", base3.digest, base1.digest, base3.labels[identity.LabelRevision], core3.digest, core2.digest)
	}
	if len(core3.layers) <= len(base3.layers) {
		t.Fatalf("third release: core has %d layers, base %d", len(core3.layers), len(base3.layers))
	}
	for i, l := range base3.layers {
		if core3.layers[i] != l {
			t.Errorf("third release: core's layer %d is %s, the new base's is %s", i, core3.layers[i], l)
		}
	}
	for _, c := range []string{"connector-fs", "connector-webhook", "scanner"} {
		p := readPublished(t, ref(ws3, c))
		if p.layers[0] != base3.layers[0] || p.labels[identity.LabelRevision] != third {
			t.Errorf("third release: %s starts with %s (base %s), revision %q", c, p.layers[0], base3.layers[0], p.labels[identity.LabelRevision])
		}
	}
	r.assertNoSecret(t)
}
