package registrytest

import (
	"github.com/shiplane/shiplane/magefiles/registry"

	"context"
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// ErrNoImage is what LocalImages answers for a reference it does not hold: the same error the
// daemon source gives.
var ErrNoImage = registry.ErrNoLocalImage

// LocalImages is an in-memory registry.Local (images by local reference, e.g.
// "shiplane/core:1.0.0"), for pushing any v1.Image (random.Image, mutate results) as if it came
// from the Docker daemon.
type LocalImages map[string]v1.Image

// LocalImage implements registry.Local.
func (l LocalImages) LocalImage(_ context.Context, ref string) (v1.Image, error) {
	img, ok := l[ref]
	if !ok {
		return nil, fmt.Errorf("%q: %w", ref, ErrNoImage)
	}
	return img, nil
}

// OnPlatform is img with its config naming the platform ("linux/arm64"), as a build for that
// platform gives: what an image index lists each image under.
func OnPlatform(t testing.TB, img v1.Image, platform string) v1.Image {
	t.Helper()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
