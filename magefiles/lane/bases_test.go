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
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// publishedImage is one platform's image as the release registry serves it under a tag that
// names an index of platforms.
type publishedImage struct {
	// tag is the digest the tag names (the index's); digest is the platform's image.
	tag    v1.Hash
	digest v1.Hash
	layers []v1.Hash
	labels map[string]string
}

func readPublished(t *testing.T, ref string, plat platform.Platform) publishedImage {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	var p publishedImage
	desc, err := remote.Head(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("asking for %s: %v", ref, err)
	}
	p.tag = desc.Digest
	img, err := remote.Image(r, remote.WithContext(t.Context()),
		remote.WithPlatform(v1.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant}))
	if err != nil {
		t.Fatalf("reading %s for %s: %v", ref, plat, err)
	}
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

	// The repository's images are two-platform indexes: every check holds for each platform.
	plats := []platform.Platform{platform.LinuxAMD64, platform.LinuxARM64}
	read := func(ws *lane.Workspace, component string) map[platform.Platform]publishedImage {
		out := map[platform.Platform]publishedImage{}
		for _, p := range plats {
			out[p] = readPublished(t, ref(ws, component), p)
		}
		return out
	}

	ws1 := release("first release")
	base1, core1 := read(ws1, "base"), read(ws1, "core")
	up := uploads()
	for _, p := range plats {
		if len(base1[p].layers) == 0 || len(core1[p].layers) <= len(base1[p].layers) {
			t.Fatalf("%s: base has %d layers, core %d", p, len(base1[p].layers), len(core1[p].layers))
		}
		// Each base layer goes up once, into base's repository, and is mounted into core's.
		for _, l := range base1[p].layers {
			if paths := up[l.String()]; len(paths) != 1 || !strings.Contains(paths[0], "/rel/base/") {
				t.Errorf("first release, %s: base layer %s uploaded to %v, want once to rel/base", p, l, paths)
			}
		}
		if want := ws1.Inputs["base"].Hash; base1[p].labels[identity.LabelRevision] != want || want == ws1.Head.Hash {
			t.Errorf("first release, %s: base's revision %q, want its inputs' last commit %s (HEAD %s)", p, base1[p].labels[identity.LabelRevision], want, ws1.Head.Hash)
		}
	}
	if len(r.reg.Matching(http.MethodPost, "/v2/rel/core/blobs/uploads/")) == 0 {
		t.Errorf("first release: nothing mounted or uploaded into rel/core")
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
			if want := base1[plats[0]].tag; res.Status != goal.AlreadyAchieved || res.Digest != want.String() {
				t.Errorf("second release: %s (digest %s), want already achieved at %s", res.Line(), res.Digest, want)
			}
		}
	}
	if !pushed {
		t.Errorf("second release: no result for base's image:\n%s", r.out)
	}
	core2 := read(ws2, "core")
	up = uploads()
	if len(up) == 0 {
		t.Error("second release: nothing uploaded at all (core's own layers must be)")
	}
	baseC := ws2.Manifest.Component("base")
	for _, p := range plats {
		// Rebuilt from nothing, base is byte for byte the published one.
		localRef := ws2.LocalImage(baseC) + ":" + baseC.Version + "-" + p.Tag()
		local, err := ws2.Reproducible(registry.NewDaemon(d.API())).LocalImage(ctx, localRef)
		if err != nil {
			t.Fatal(err)
		}
		// As pushed in the index: the same image in OCI media types.
		if local, err = publish.OCIImage(local); err != nil {
			t.Fatal(err)
		}
		if h, err := local.Digest(); err != nil || h != base1[p].digest {
			t.Errorf("second release, %s: base rebuilt to %s (%v), published %s", p, h, err, base1[p].digest)
		}
		// Core 1.2.1 is FROM base as published, and none of base's layers went up again.
		if core2[p].digest == core1[p].digest || len(core2[p].layers) <= len(base1[p].layers) {
			t.Fatalf("second release, %s: core %s with %d layers (first release: %s)", p, core2[p].digest, len(core2[p].layers), core1[p].digest)
		}
		for i, l := range base1[p].layers {
			if core2[p].layers[i] != l {
				t.Errorf("second release, %s: core's layer %d is %s, the published base's is %s", p, i, core2[p].layers[i], l)
			}
		}
		for _, l := range base1[p].layers {
			if paths := up[l.String()]; len(paths) != 0 {
				t.Errorf("second release, %s: base layer %s uploaded again to %v", p, l, paths)
			}
			// The push found it in core's repository (from core 1.2.0), or mounted it.
			there := len(r.reg.Matching(http.MethodHead, "/v2/rel/core/blobs/"+l.String())) > 0
			for _, m := range r.reg.Matching(http.MethodPost, "/v2/rel/core/blobs/uploads/") {
				there = there || strings.Contains(m.Query, "mount="+url.QueryEscape(l.String())) && m.Status == http.StatusCreated
			}
			if !there {
				t.Errorf("second release, %s: base layer %s neither found nor mounted in rel/core\n%s", p, l, r.reg.Dump())
			}
		}
		if core2[p].labels[identity.LabelRevision] != second {
			t.Errorf("second release, %s: core's revision %q, want %s", p, core2[p].labels[identity.LabelRevision], second)
		}
	}

	// Base changes: base and every image FROM it are bumped and rebuilt.
	gittest.Write(t, r.root, map[string]string{"services/base/rootfs/etc/shiplane-release": "3\n"})
	bump("base", "core", "connector-fs", "connector-webhook", "scanner", "web")
	third := gittest.CommitAt(t, r.root, "base changed", ws2.Head.Time.Add(30*24*time.Hour))
	ws3 := release("third release")
	base3, core3 := read(ws3, "base"), read(ws3, "core")
	for _, p := range plats {
		if base3[p].digest == base1[p].digest || core3[p].digest == core2[p].digest || base3[p].labels[identity.LabelRevision] != third {
			t.Errorf("third release, %s: base %s (was %s, revision %q), core %s (was %s)", p, base3[p].digest, base1[p].digest, base3[p].labels[identity.LabelRevision], core3[p].digest, core2[p].digest)
		}
		if len(core3[p].layers) <= len(base3[p].layers) {
			t.Fatalf("third release, %s: core has %d layers, base %d", p, len(core3[p].layers), len(base3[p].layers))
		}
		for i, l := range base3[p].layers {
			if core3[p].layers[i] != l {
				t.Errorf("third release, %s: core's layer %d is %s, the new base's is %s", p, i, core3[p].layers[i], l)
			}
		}
		for _, c := range []string{"connector-fs", "connector-webhook", "scanner", "web"} {
			img := readPublished(t, ref(ws3, c), p)
			if img.layers[0] != base3[p].layers[0] || img.labels[identity.LabelRevision] != third {
				t.Errorf("third release, %s: %s starts with %s (base %s), revision %q", p, c, img.layers[0], base3[p].layers[0], img.labels[identity.LabelRevision])
			}
		}
	}
	r.assertNoSecret(t)
}
