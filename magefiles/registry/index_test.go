package registry_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// platformImage is a random image for the platform ("linux/arm64"), its config saying so, carrying
// the inputs label.
func platformImage(t testing.TB, platform, inputs string) v1.Image {
	t.Helper()
	img := labelled(t, nil, 2048, 1, map[string]string{identity.LabelInputs: inputs})
	return registrytest.OnPlatform(t, img, platform)
}

// indexOf is an OCI index of the images, each under its config's platform.
func indexOf(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	return idx
}

func indexDigest(t testing.TB, idx v1.ImageIndex) string {
	t.Helper()
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// TestPushIndexThenRead: an index of two platforms is pushed (each image's blobs and manifest
// first, then the index by tag); the tag's HEAD gives the index digest, Image reads the agreed
// inputs label and each platform's digest, and a plain client pulls each platform's image.
func TestPushIndexThenRead(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	var progress bytes.Buffer
	c := newClient(registry.WithProgress(&progress))
	amd, arm := platformImage(t, "linux/amd64", "key-1"), platformImage(t, "linux/arm64", "key-1")
	idx := indexOf(t, amd, arm)
	want := indexDigest(t, idx)
	tags := []string{reg.Ref("team/core:1.0.0"), reg.Ref("team/core:1.0.0-gabc")}

	p, err := c.PushIndex(ctx, idx, tags)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, reg.Dump())
	}
	if p.Digest != want || len(p.Written) != 2 || p.BlobsUploaded != 4 { // a layer and a config each
		t.Errorf("Pushed = %+v, want digest %s, 2 tags written, 4 blobs uploaded", p, want)
	}
	// Two images by digest, then the index once per tag.
	puts := reg.Matching(http.MethodPut, "/manifests/")
	if len(puts) != 4 || !strings.HasSuffix(puts[0].Path, "/manifests/"+digestOf(t, amd)) || !strings.HasSuffix(puts[1].Path, "/manifests/"+digestOf(t, arm)) {
		t.Errorf("manifest PUTs = %v, want amd64's and arm64's by digest, then the two tags:\n%s", puts, reg.Dump())
	}
	if !strings.Contains(progress.String(), "an index of 2 images") {
		t.Errorf("progress does not say an index was pushed:\n%s", progress.String())
	}

	d, ok, err := c.Digest(ctx, tags[0])
	if err != nil || !ok || d != want {
		t.Errorf("Digest = %q, %v, %v; want the index digest %s", d, ok, err, want)
	}
	got, err := c.Image(ctx, tags[1])
	if err != nil {
		t.Fatal(err)
	}
	wantPlats := []published.Platform{{Platform: "linux/amd64", Digest: digestOf(t, amd)}, {Platform: "linux/arm64", Digest: digestOf(t, arm)}}
	if !got.Present || got.Digest != want || got.Inputs != "key-1" || len(got.Platforms) != 2 || got.Platforms[0] != wantPlats[0] || got.Platforms[1] != wantPlats[1] {
		t.Errorf("Image = %+v, want index %s of %v with inputs key-1", got, want, wantPlats)
	}
	reg.Reset()
	dig, plats, err := c.Platforms(ctx, tags[0])
	if err != nil || dig != want || len(plats) != 2 || plats[1] != wantPlats[1] {
		t.Errorf("Platforms = %s, %v, %v; want %s, %v", dig, plats, err, want, wantPlats)
	}
	if n := len(reg.Requests()); n != 1 {
		t.Errorf("Platforms made %d requests, want one manifest GET:\n%s", n, reg.Dump())
	}

	// What a customer's client gets for arm64: that platform's image.
	r, err := name.ParseReference(tags[0])
	if err != nil {
		t.Fatal(err)
	}
	armImg, err := remote.Image(r, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	if d := digestOf(t, armImg); d != digestOf(t, arm) {
		t.Errorf("the arm64 pull gives %s, want %s", d, digestOf(t, arm))
	}
}

// TestSecondIndexPushWritesNothing: pushing the same index again, from a new client, asks each
// tag once and writes nothing.
func TestSecondIndexPushWritesNothing(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	idx := indexOf(t, platformImage(t, "linux/amd64", "k"), platformImage(t, "linux/arm64", "k"))
	tags := []string{reg.Ref("core:1.0.0"), reg.Ref("core:1.0.0-gabc")}
	if _, err := newClient().PushIndex(ctx, idx, tags); err != nil {
		t.Fatal(err)
	}
	reg.Reset()
	p, err := newClient().PushIndex(ctx, idx, tags)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Written) != 0 || len(p.Existing) != 2 {
		t.Errorf("second push: %+v, want 2 existing and nothing written", p)
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("second push made %d writes:\n%s", w, reg.Dump())
	}
	if n := reg.Count(http.MethodHead, "/manifests/"); n != len(tags) {
		t.Errorf("manifest HEADs = %d, want one per tag (%d):\n%s", n, len(tags), reg.Dump())
	}
	if n := reg.Count("", "/blobs/") + reg.Count(http.MethodGet, "/manifests/"); n != 0 {
		t.Errorf("%d blob or manifest GET requests, want 0:\n%s", n, reg.Dump())
	}
}

// TestIndexTagWrittenDuringTheUploadIsRefused: someone pushes the tag while the index's blobs
// upload; the tag is asked again right before the index's PUT and the push is refused.
func TestIndexTagWrittenDuringTheUploadIsRefused(t *testing.T) {
	ctx := t.Context()
	idx := indexOf(t, platformImage(t, "linux/amd64", "k"), platformImage(t, "linux/arm64", "k"))
	theirs := labelled(t, nil, 100, 1, nil)
	var ref string
	reg := registrytest.New(t, registrytest.WithMiddleware(
		registrytest.Hook(registrytest.Before, http.MethodPatch, "/v2/core/blobs/uploads/", foreignPush(t, &ref, theirs))))
	ref = reg.Ref("core:1.0.0")

	p, err := newClient().PushIndex(ctx, idx, []string{ref})
	var cw *registry.ConcurrentWriteError
	if !errors.As(err, &cw) {
		t.Fatalf("err = %v, want *ConcurrentWriteError\n%s", err, reg.Dump())
	}
	if cw.Ref != ref || cw.Ours != indexDigest(t, idx) || cw.Theirs != digestOf(t, theirs) || cw.AfterPut {
		t.Errorf("error %+v, want ref %s, ours the index %s, theirs %s, before the PUT", cw, ref, indexDigest(t, idx), digestOf(t, theirs))
	}
	if len(p.Written) != 0 {
		t.Errorf("Pushed = %+v, want nothing written", p)
	}
	if got := held(t, ref); got != digestOf(t, theirs) {
		t.Errorf("%s holds %s after the refused push, want theirs %s", ref, got, digestOf(t, theirs))
	}
	if n := reg.Count(http.MethodPut, "/v2/core/manifests/1.0.0"); n != 1 {
		t.Errorf("manifest PUTs by tag = %d, want only theirs:\n%s", n, reg.Dump())
	}
}

// TestIndexTagHoldingAnotherIndexIsRefused: an immutable tag holding another index is refused
// before any write.
func TestIndexTagHoldingAnotherIndexIsRefused(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	ref := reg.Ref("core:1.0.0")
	first := indexOf(t, platformImage(t, "linux/amd64", "a"), platformImage(t, "linux/arm64", "a"))
	if _, err := newClient().PushIndex(ctx, first, []string{ref}); err != nil {
		t.Fatal(err)
	}
	reg.Reset()
	second := indexOf(t, platformImage(t, "linux/amd64", "b"), platformImage(t, "linux/arm64", "b"))
	_, err := newClient().PushIndex(ctx, second, []string{ref})
	var te *registry.TagExistsError
	if !errors.As(err, &te) || te.Digest != indexDigest(t, first) {
		t.Fatalf("err = %v, want *TagExistsError naming %s", err, indexDigest(t, first))
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("the refused push made %d writes:\n%s", w, reg.Dump())
	}
}

// TestIndexPlatformsThatDisagreeCannotTell: an index whose images carry different inputs labels
// is no build of one version: reading it cannot tell, and says which platform carries what.
func TestIndexPlatformsThatDisagreeCannotTell(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	ref := reg.Ref("core:1.0.0")
	idx := indexOf(t, platformImage(t, "linux/amd64", "key-a"), platformImage(t, "linux/arm64", "key-b"))
	if _, err := newClient().PushIndex(ctx, idx, []string{ref}); err != nil {
		t.Fatal(err)
	}
	_, err := newClient().Image(ctx, ref)
	if !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("err = %v, want ErrUnknown", err)
	}
	for _, s := range []string{ref, "linux/amd64", "key-a", "linux/arm64", "key-b", identity.LabelInputs} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
}
