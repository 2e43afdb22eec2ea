package registry_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// foreignPush returns a function that pushes img to ref with a plain client, as another
// machine's push of the same tag would, for a registrytest.Hook.
func foreignPush(t *testing.T, ref *string, img v1.Image) func() {
	return func() {
		r, err := name.ParseReference(*ref)
		if err == nil {
			err = remote.Write(r, img)
		}
		if err != nil {
			t.Errorf("the foreign push of %s: %v", *ref, err)
		}
	}
}

// held returns what ref holds now, through the registry API with a plain client.
func held(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return desc.Digest.String()
}

// TestTagWrittenDuringTheUploadIsRefused: someone pushes the same tag while our blobs upload; the
// tag is asked again right before our manifest PUT, the push is refused, and theirs stays.
func TestTagWrittenDuringTheUploadIsRefused(t *testing.T) {
	ctx := t.Context()
	ours := labelled(t, nil, 64<<10, 2, nil)
	theirs := labelled(t, nil, 100, 1, nil)
	var ref string
	reg := registrytest.New(t, registrytest.WithMiddleware(
		registrytest.Hook(registrytest.Before, http.MethodPatch, "/v2/core/blobs/uploads/", foreignPush(t, &ref, theirs))))
	ref = reg.Ref("core:1.0.0")

	p, err := newClient().Push(ctx, ours, []string{ref})
	var cw *registry.ConcurrentWriteError
	if !errors.As(err, &cw) {
		t.Fatalf("err = %v, want *ConcurrentWriteError\n%s", err, reg.Dump())
	}
	t.Logf("tag written during the upload: %v", err)
	if cw.Ref != ref || cw.Ours != digestOf(t, ours) || cw.Theirs != digestOf(t, theirs) || cw.AfterPut {
		t.Errorf("error %+v, want ref %s, ours %s, theirs %s, before the PUT", cw, ref, digestOf(t, ours), digestOf(t, theirs))
	}
	for _, s := range []string{ref, cw.Ours, cw.Theirs} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	var te *registry.TagExistsError
	if !errors.As(err, &te) || te.Digest != cw.Theirs || te.Want != cw.Ours {
		t.Errorf("a refusal before the PUT should also be a *TagExistsError: %v", err)
	}
	if len(p.Written) != 0 {
		t.Errorf("Pushed = %+v, want nothing written", p)
	}
	if got := held(t, ref); got != digestOf(t, theirs) {
		t.Errorf("%s holds %s after the refused push, want theirs %s", ref, got, digestOf(t, theirs))
	}
	if n := reg.Count(http.MethodPut, "/v2/core/manifests/"); n != 1 {
		t.Errorf("manifest PUTs = %d, want only theirs:\n%s", n, reg.Dump())
	}
}

// TestSameImageWrittenDuringTheUploadIsFine: another push of the same image is no conflict; the
// tag counts as existing and is not written again.
func TestSameImageWrittenDuringTheUploadIsFine(t *testing.T) {
	ctx := t.Context()
	img := labelled(t, nil, 64<<10, 1, nil)
	var ref string
	reg := registrytest.New(t, registrytest.WithMiddleware(
		registrytest.Hook(registrytest.Before, http.MethodPatch, "/v2/core/blobs/uploads/", foreignPush(t, &ref, img))))
	ref = reg.Ref("core:1.0.0")
	p, err := newClient().Push(ctx, img, []string{ref})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, reg.Dump())
	}
	if len(p.Written) != 0 || len(p.Existing) != 1 {
		t.Errorf("Pushed = %+v, want the tag existing and nothing written", p)
	}
	if n := reg.Count(http.MethodPut, "/v2/core/manifests/"); n != 1 {
		t.Errorf("manifest PUTs = %d, want only the other push's:\n%s", n, reg.Dump())
	}
}

// afterPut is a push of ours to core:1.0.0 (and core:1.0) while someone else writes theirs to
// core:1.0.0 right after our manifest PUT.
type afterPut struct {
	reg          *registrytest.Registry
	ref          string
	ours, theirs v1.Image
	p            registry.Pushed
	err          error
}

func writtenRightAfterOurPut(t *testing.T, opts ...registry.PushOption) afterPut {
	a := afterPut{ours: labelled(t, nil, 1024, 1, nil), theirs: labelled(t, nil, 100, 1, nil)}
	a.reg = registrytest.New(t, registrytest.WithMiddleware(
		registrytest.Hook(registrytest.After, http.MethodPut, "/v2/core/manifests/1.0.0", foreignPush(t, &a.ref, a.theirs))))
	a.ref = a.reg.Ref("core:1.0.0")
	a.p, a.err = newClient().Push(t.Context(), a.ours, []string{a.ref, a.reg.Ref("core:1.0")}, opts...)
	return a
}

// TestTagWrittenRightAfterOurPutIsReported: someone writes the tag between our manifest PUT and
// its read-back (ReadBack); the read-back sees it and the push fails, naming both digests.
func TestTagWrittenRightAfterOurPutIsReported(t *testing.T) {
	a := writtenRightAfterOurPut(t, registry.ReadBack())
	reg, ref, p, err, ours, theirs := a.reg, a.ref, a.p, a.err, a.ours, a.theirs
	var cw *registry.ConcurrentWriteError
	if !errors.As(err, &cw) {
		t.Fatalf("err = %v, want *ConcurrentWriteError\n%s", err, reg.Dump())
	}
	t.Logf("tag written right after our PUT: %v", err)
	if cw.Ref != ref || cw.Ours != digestOf(t, ours) || cw.Theirs != digestOf(t, theirs) || !cw.AfterPut {
		t.Errorf("error %+v, want ref %s, ours %s, theirs %s, after the PUT", cw, ref, digestOf(t, ours), digestOf(t, theirs))
	}
	for _, s := range []string{ref, cw.Ours, cw.Theirs} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	var te *registry.TagExistsError
	if errors.As(err, &te) {
		t.Errorf("a write after ours is not a refusal to overwrite: %v", err)
	}
	if len(p.Written) != 0 {
		t.Errorf("Pushed = %+v, want no tag reported written", p)
	}
	if n := reg.Count(http.MethodPut, "/v2/core/manifests/"); n != 2 {
		t.Errorf("manifest PUTs = %d, want ours and theirs, and not the next tag:\n%s", n, reg.Dump())
	}
}

// TestTagWrittenRightAfterOurPutGoesUnreportedWithoutReadBack is what Push's doc says it does not
// catch by default: a write after our PUT replaces ours, and the push reports the tag written.
func TestTagWrittenRightAfterOurPutGoesUnreportedWithoutReadBack(t *testing.T) {
	a := writtenRightAfterOurPut(t)
	if a.err != nil || len(a.p.Written) != 2 {
		t.Fatalf("push: %+v, %v\n%s", a.p, a.err, a.reg.Dump())
	}
	if got := held(t, a.ref); got != digestOf(t, a.theirs) {
		t.Errorf("%s holds %s, want theirs %s (the last writer)", a.ref, got, digestOf(t, a.theirs))
	}
}

// TestReadBackThatCannotTellFails: a read-back that gets no answer does not count as success.
func TestReadBackThatCannotTellFails(t *testing.T) {
	ctx := t.Context()
	var put bool
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if put && r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				put = true
			}
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	_, err := newClient().Push(ctx, labelled(t, nil, 100, 1, nil), []string{reg.Ref("core:1.0.0")}, registry.ReadBack())
	var cw *registry.ConcurrentWriteError
	if err == nil || errors.As(err, &cw) || !strings.Contains(err.Error(), "reading the tag back") {
		t.Fatalf("err = %v, want a failed read-back", err)
	}
}

// TestFirstPushRequestBudget: a first push asks a tag it may not overwrite twice (once to decide,
// once right before its PUT), once when the caller passes what it observed, three times with
// ReadBack; a moving tag once, or never when observed.
func TestFirstPushRequestBudget(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name      string
		tags      []string
		opts      func(reg *registrytest.Registry) []registry.PushOption
		heads     int
		blobHeads int
	}{
		{"one tag", []string{"core:1.0.0"}, nil, 2, 2},
		{"two tags", []string{"core:1.0.0", "core:1.0.0-gabc"}, nil, 4, 2},
		{"one tag observed absent", []string{"core:1.0.0"}, func(reg *registrytest.Registry) []registry.PushOption {
			return []registry.PushOption{registry.Observed(reg.Ref("core:1.0.0"), "", false)}
		}, 1, 2},
		{"one tag read back", []string{"core:1.0.0"}, func(*registrytest.Registry) []registry.PushOption {
			return []registry.PushOption{registry.ReadBack()}
		}, 3, 2},
		{"one moving tag", []string{"core:latest"}, func(*registrytest.Registry) []registry.PushOption {
			return []registry.PushOption{registry.AllowOverwrite()}
		}, 1, 2},
		{"one moving tag observed elsewhere", []string{"core:latest"}, func(reg *registrytest.Registry) []registry.PushOption {
			return []registry.PushOption{registry.AllowOverwrite(), registry.Observed(reg.Ref("core:latest"), "sha256:"+strings.Repeat("0", 64), true)}
		}, 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := registrytest.New(t)
			var refs []string
			for _, tag := range c.tags {
				refs = append(refs, reg.Ref(tag))
			}
			var opts []registry.PushOption
			if c.opts != nil {
				opts = c.opts(reg)
			}
			p, err := newClient().Push(ctx, labelled(t, nil, 1024, 1, nil), refs, opts...)
			if err != nil || len(p.Written) != len(refs) {
				t.Fatalf("push: %+v, %v", p, err)
			}
			if n := reg.Count(http.MethodHead, "/manifests/"); n != c.heads {
				t.Errorf("manifest HEADs = %d, want %d:\n%s", n, c.heads, reg.Dump())
			}
			if n := reg.Count(http.MethodPut, "/manifests/"); n != len(refs) {
				t.Errorf("manifest PUTs = %d, want %d:\n%s", n, len(refs), reg.Dump())
			}
			if n := reg.Count(http.MethodHead, "/blobs/"); n != c.blobHeads {
				t.Errorf("blob HEADs = %d, want %d (the layer and the config, once):\n%s", n, c.blobHeads, reg.Dump())
			}
			if n := reg.Count(http.MethodGet, "/manifests/"); n != 0 {
				t.Errorf("manifest GETs = %d, want 0:\n%s", n, reg.Dump())
			}
		})
	}
}
