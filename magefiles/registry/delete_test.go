package registry_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// TestDeleteManifest: one DELETE by digest removes the tag's manifest; a second finds it gone
// and is not an error; another tag of the repository stays.
func TestDeleteManifest(t *testing.T) {
	reg := registrytest.New(t)
	c := registry.New()
	ref, keep := reg.Ref("rel/core:1.2.1"), reg.Ref("rel/core:1.2.0")
	d := registrytest.PushRandom(t, ref)
	kept := registrytest.PushRandom(t, keep)
	for range 2 {
		if err := c.DeleteManifest(t.Context(), ref, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := c.Digest(t.Context(), ref); err != nil || ok {
		t.Errorf("after the delete: present %v, %v", ok, err)
	}
	if got, ok, err := c.Digest(t.Context(), keep); err != nil || !ok || got != kept {
		t.Errorf("the other tag: %s %v %v, want %s", got, ok, err, kept)
	}
	if n := reg.Count(http.MethodDelete, "/manifests/"+d); n != 2 {
		t.Errorf("%d DELETEs by digest, want 2:\n%s", n, reg.Dump())
	}
}

// TestDeleteManifestUnsupported: a registry with deletes disabled answers a typed error naming
// the reference and the fix, and the manifest stays.
func TestDeleteManifestUnsupported(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithoutDelete())
	c := registry.New()
	ref := reg.Ref("rel/core:1.2.1")
	d := registrytest.PushRandom(t, ref)
	err := c.DeleteManifest(t.Context(), ref, d)
	var ue *registry.DeleteUnsupportedError
	if !errors.As(err, &ue) || !errors.Is(err, registry.ErrDeleteUnsupported) || ue.Ref != ref || ue.Status != http.StatusMethodNotAllowed {
		t.Fatalf("err = %v, want a *DeleteUnsupportedError for %s", err, ref)
	}
	if got, ok, err := c.Digest(t.Context(), ref); err != nil || !ok || got != d {
		t.Errorf("the manifest went: %s %v %v", got, ok, err)
	}
}
