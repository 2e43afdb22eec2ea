package publish

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Reproducible wraps a Source so every image it yields has its layer file times and config times
// set to one time (the commit time), and the fields that name the build rather than the image
// (the classic builder's container ID and hostname, the daemon version) cleared: two builds of the
// same commit, on any machine, give the same digest.
type Reproducible struct {
	Source Source
	Time   time.Time
}

var _ Source = Reproducible{}

// LocalImage reads ref and rewrites its times.
func (r Reproducible) LocalImage(ctx context.Context, ref string) (v1.Image, error) {
	img, err := r.Source.LocalImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading %s's config: %w", ref, err)
	}
	cfg = cfg.DeepCopy()
	cfg.Container, cfg.DockerVersion, cfg.Config.Hostname = "", "", ""
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("normalising %s's config: %w", ref, err)
	}
	out, err := mutate.Time(img, r.Time.UTC())
	if err != nil {
		return nil, fmt.Errorf("setting %s's times to %s: %w", ref, r.Time.UTC().Format(time.RFC3339), err)
	}
	return out, nil
}
