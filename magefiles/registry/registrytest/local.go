package registrytest

import (
	"github.com/shiplane/shiplane/magefiles/registry"

	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
