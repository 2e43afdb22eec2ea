package publish_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// forPlatform is a labelled random image whose config names the platform.
func forPlatform(t *testing.T, key, platform string) v1.Image {
	t.Helper()
	img := labelled(t, key)
	return registrytest.OnPlatform(t, img, platform)
}

// notPings counts the requests other than the /v2/ API version checks.
func notPings(reg *registrytest.Registry) int {
	n := 0
	for _, q := range reg.Requests() {
		if q.Path != "/v2/" {
			n++
		}
	}
	return n
}

// TestTwoPlatformImagePushed: two platforms' local images are pushed as one OCI index (each
// image in OCI media types under its config's platform); a re-assessment, in a new run, is
// achieved with one manifest HEAD per tag and no write, by digest (the dev lane) and by inputs
// from the identity memo (the release lane).
func TestTwoPlatformImagePushed(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	local := registrytest.LocalImages{
		"shiplane/core:1.0.0-linux-amd64": forPlatform(t, "sha256:k1", "linux/amd64"),
		"shiplane/core:1.0.0-linux-arm64": forPlatform(t, "sha256:k1", "linux/arm64"),
	}
	spec := publish.ImagePushed{
		Local: []publish.LocalImage{
			{Platform: "linux/amd64", Ref: "shiplane/core:1.0.0-linux-amd64"},
			{Platform: "linux/arm64", Ref: "shiplane/core:1.0.0-linux-arm64"},
		},
		Tags:      []string{reg.Ref("rel/core:1.0.0"), reg.Ref("rel/core:1.0.0-gabc")},
		Component: "core", Version: "1.0.0", Key: identity.Key("sha256:k1"),
	}
	g := publish.NewImagePushed(spec, registry.New(), local, nil, nil)
	st, err := g.Assess(ctx)
	if err != nil || st.Achieved || len(st.Platforms) != 2 {
		t.Fatalf("first assessment: %+v, %v; want missing, with two platforms", st, err)
	}
	if err := g.Achieve(ctx); err != nil {
		t.Fatalf("achieve: %v\n%s", err, reg.Dump())
	}
	after, err := g.Assess(ctx)
	if err != nil || !after.Achieved || after.Digest != st.Digest {
		t.Fatalf("after achieving: %+v, %v; want achieved at %s", after, err, st.Digest)
	}

	// What the registry holds: the index, each entry's platform its config's.
	c := registry.New()
	img, err := c.Image(ctx, spec.Tags[0])
	if err != nil || img.Digest != st.Digest || img.Inputs != "sha256:k1" || len(img.Platforms) != 2 {
		t.Fatalf("Image = %+v, %v; want the index %s of two platforms", img, err, st.Digest)
	}
	for _, p := range img.Platforms {
		if st.Platforms[p.Platform] != p.Digest {
			t.Errorf("%s: registry has %s, the goal reported %s", p.Platform, p.Digest, st.Platforms[p.Platform])
		}
	}
	idx := pullIndex(t, spec.Tags[0])
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	for _, m := range im.Manifests {
		child, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := child.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		mf, err := child.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.MediaType != types.OCIManifestSchema1 || mf.Config.MediaType != types.OCIConfigJSON || mf.Layers[0].MediaType != types.OCILayer {
			t.Errorf("%s: media types %s, config %s, layer %s; want OCI", m.Platform, m.MediaType, mf.Config.MediaType, mf.Layers[0].MediaType)
		}
		if m.Platform.Architecture != cf.Architecture || m.Platform.OS != cf.OS {
			t.Errorf("entry for %s holds an image whose config says %s/%s", m.Platform, cf.OS, cf.Architecture)
		}
	}

	// A new run of the dev lane: digests compared, one HEAD per tag, nothing written.
	reg.Reset()
	st2, err := publish.NewImagePushed(spec, registry.New(), local, nil, nil).Assess(ctx)
	if err != nil || !st2.Achieved || st2.Digest != st.Digest {
		t.Fatalf("re-assessment: %+v, %v", st2, err)
	}
	if h, n := reg.Count(http.MethodHead, "/manifests/"), notPings(reg); h != len(spec.Tags) || n != h || reg.Writes() != 0 {
		t.Errorf("re-assessment made %d manifest HEADs among %d requests (%d writes); want one HEAD per tag and nothing else:\n%s", h, n, reg.Writes(), reg.Dump())
	}

	// The release lane: by inputs, through a run's cache; the first run reads the labels and keeps
	// the identity of the index digest, a later one asks one HEAD per tag.
	memo := publish.NewDigestMemo(t.TempDir())
	byInputs := spec
	byInputs.ByInputs = true
	for run := range 2 {
		reg.Reset()
		cache := publish.NewCaching(registry.New(), nil, nil, nil).WithIdentities(memo)
		st3, err := publish.NewImagePushed(byInputs, cache, noLocal{}, nil, nil).Assess(ctx)
		if err != nil || !st3.Achieved || st3.Digest != st.Digest {
			t.Fatalf("run %d by inputs: %+v, %v", run, st3, err)
		}
		if run == 1 {
			if h, n := reg.Count(http.MethodHead, "/manifests/"), notPings(reg); h != len(spec.Tags) || n != h || reg.Writes() != 0 {
				t.Errorf("a later run by inputs made %d manifest HEADs among %d requests (%d writes); want one HEAD per tag:\n%s", h, n, reg.Writes(), reg.Dump())
			}
		}
	}
}

// TestIndexRefusesAnImageOfAnotherPlatform: an image whose config names another platform than
// the one it was built for is refused before anything is pushed.
func TestIndexRefusesAnImageOfAnotherPlatform(t *testing.T) {
	_, err := publish.Index([]publish.PlatformImage{
		{Platform: "linux/amd64", Image: forPlatform(t, "k", "linux/amd64")},
		{Platform: "linux/arm64", Image: forPlatform(t, "k", "linux/amd64")},
	})
	if err == nil || !strings.Contains(err.Error(), "built for linux/arm64 says it is for linux/amd64") {
		t.Fatalf("err = %v, want the arm64 image refused for naming amd64", err)
	}
}

// TestIndexDigestIsAFunctionOfTheImages: the same images give the same index digest, and the
// OCI rewrite keeps every layer and the config's content.
func TestIndexDigestIsAFunctionOfTheImages(t *testing.T) {
	amd, arm := forPlatform(t, "k", "linux/amd64"), forPlatform(t, "k", "linux/arm64")
	digest := func() string {
		idx, err := publish.Index([]publish.PlatformImage{{Platform: "linux/amd64", Image: amd}, {Platform: "linux/arm64", Image: arm}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	if a, b := digest(), digest(); a != b {
		t.Errorf("two indexes of the same images: %s and %s", a, b)
	}
	oci, err := publish.OCIImage(amd)
	if err != nil {
		t.Fatal(err)
	}
	was, _ := amd.ConfigFile()
	now, _ := oci.ConfigFile()
	wl, _ := amd.Layers()
	nl, _ := oci.Layers()
	wd, _ := wl[0].Digest()
	nd, _ := nl[0].Digest()
	if wd != nd || len(wl) != len(nl) || was.Config.Labels[identity.LabelInputs] != now.Config.Labels[identity.LabelInputs] ||
		len(was.History) != len(now.History) || was.RootFS.DiffIDs[0] != now.RootFS.DiffIDs[0] {
		t.Errorf("the OCI rewrite changed the image: layers %v→%v, config %+v→%+v", wd, nd, was, now)
	}
}

// noLocal is the image source of a run that built nothing: reading it fails the test's goal.
type noLocal struct{}

func (noLocal) LocalImage(_ context.Context, ref string) (v1.Image, error) {
	return nil, fmt.Errorf("%s was read: a run deciding by inputs reads no local image", ref)
}

// pullIndex reads the index at ref with a plain client.
func pullIndex(t *testing.T, ref string) v1.ImageIndex {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}
