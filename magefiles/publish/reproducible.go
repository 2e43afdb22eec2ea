package publish

import (
	"bytes"
	"context"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Reproducible wraps a Source so every image it yields has its layer file times and config times
// set to one time, and the fields that name the build rather than the image (the classic
// builder's container ID and hostname, the daemon version) cleared: two builds of the same inputs,
// on any machine, give the same digest.
//
// Each local reference may have its own Origin: the time of its own layers and config (the
// commit that last changed its inputs), and the local image it was built FROM when that is one of
// ours. Such an image is its base's reproducible image, byte for byte (the same layers, so the
// same digests as the base published), with its own layers appended, time-normalised with its own
// time. Everything is per reference: a multi-platform build names one local image per platform,
// each with its Origin (and its base for the same platform).
type Reproducible struct {
	Source Source
	// Time is the time of an image Origin knows nothing of (and of every image when Origin is
	// nil), without a base. Zero with such an image is an error.
	Time time.Time
	// Origin says how the image at a local reference is made reproducible; ok false falls back
	// to Time. Nil: every image takes Time.
	Origin func(ref string) (o Origin, ok bool)
}

// Origin is where one local image comes from, for Reproducible.
type Origin struct {
	// Time is what the image's own layer file times and config times are set to.
	Time time.Time
	// Base is the local reference of the image it was built FROM, when that is one of ours and
	// must be reused as it is published; "" for none (FROM scratch, or any other image, whose
	// layers take Time like the image's own). Its own Origin says how it is made.
	Base string
}

var _ Source = Reproducible{}

// maxBaseDepth bounds a chain of bases (a cycle in Origin would otherwise never end).
const maxBaseDepth = 32

// LocalImage reads ref and makes it reproducible.
func (r Reproducible) LocalImage(ctx context.Context, ref string) (v1.Image, error) {
	out, _, err := r.image(ctx, ref, nil)
	return out, err
}

// image is ref made reproducible, and ref as the source has it; chain lists the images built
// FROM it on the way here.
func (r Reproducible) image(ctx context.Context, ref string, chain []string) (out, local v1.Image, err error) {
	o := Origin{Time: r.Time}
	if r.Origin != nil {
		if known, ok := r.Origin(ref); ok {
			o = known
		}
	}
	if o.Time.IsZero() {
		return nil, nil, fmt.Errorf("%s: no reproducible time for this image (publish.Reproducible has no Origin for it and no Time)", ref)
	}
	if local, err = r.Source.LocalImage(ctx, ref); err != nil {
		return nil, nil, err
	}
	if o.Base == "" {
		out, err = normalise(ref, local, o.Time)
		return out, local, err
	}
	chain = append(chain, ref)
	if len(chain) > maxBaseDepth {
		return nil, nil, fmt.Errorf("%s: its bases form a chain longer than %d (%v): is a base built FROM itself?", ref, maxBaseDepth, chain)
	}
	base, baseLocal, err := r.image(ctx, o.Base, chain)
	if err != nil {
		return nil, nil, fmt.Errorf("%s is built FROM %s: %w", ref, o.Base, err)
	}
	out, err = onBase(ref, local, o, baseLocal, base)
	return out, local, err
}

// normalise is an image with every time set to t and the build's own fields cleared.
func normalise(ref string, img v1.Image, t time.Time) (v1.Image, error) {
	cfg, err := configOf(ref, img)
	if err != nil {
		return nil, err
	}
	cfg.Container, cfg.DockerVersion = "", ""
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("normalising %s's config: %w", ref, err)
	}
	out, err := mutate.Time(img, t.UTC())
	if err != nil {
		return nil, fmt.Errorf("setting %s's times to %s: %w", ref, t.UTC().Format(time.RFC3339), err)
	}
	if cfg.Variant == "" && len(cfg.OSFeatures) == 0 {
		return out, nil
	}
	// mutate.Time drops the platform's variant and OS features, which an index needs.
	ocfg, err := out.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("normalising %s's config: %w", ref, err)
	}
	ocfg = ocfg.DeepCopy()
	ocfg.Variant, ocfg.OSFeatures = cfg.Variant, cfg.OSFeatures
	if out, err = mutate.ConfigFile(out, ocfg); err != nil {
		return nil, fmt.Errorf("normalising %s's config: %w", ref, err)
	}
	return out, nil
}

// configOf is img's config as stored: the daemon source's ConfigFile is rebuilt from the Engine
// API's inspect and history answers, whose history is newest first (and whose empty-layer flags
// are guessed from sizes); the raw config from the saved image is the image's own.
func configOf(ref string, img v1.Image) (*v1.ConfigFile, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading %s's config: %w", ref, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("reading %s's config: %w", ref, err)
	}
	cfg.Config = imageConfig(cfg.Config)
	return cfg, nil
}

// imageConfig keeps the fields that describe the image (the OCI image config's, and Docker's
// health check, ONBUILD and SHELL), and drops those the classic builder leaves from the build's
// last container: its hostname, its parent image's ID, its terminal settings.
func imageConfig(c v1.Config) v1.Config {
	return v1.Config{
		User: c.User, ExposedPorts: c.ExposedPorts, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		Volumes: c.Volumes, WorkingDir: c.WorkingDir, Labels: c.Labels, StopSignal: c.StopSignal,
		ArgsEscaped: c.ArgsEscaped, Healthcheck: c.Healthcheck, OnBuild: c.OnBuild, Shell: c.Shell,
	}
}

// onBase is img (built FROM the local image local) as base, the reproducible form of local,
// with img's own layers appended, their times and img's config times set to o.Time. The config
// is img's, as normalise makes it, with the base's part of the history and layer list taken from
// base.
func onBase(ref string, img v1.Image, o Origin, local, base v1.Image) (v1.Image, error) {
	cfg, err := configOf(ref, img)
	if err != nil {
		return nil, err
	}
	lcfg, err := configOf(o.Base, local)
	if err != nil {
		return nil, err
	}
	bcfg, err := base.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading %s's reproducible config: %w", o.Base, err)
	}
	n, h := len(lcfg.RootFS.DiffIDs), len(lcfg.History)
	for i, want := range lcfg.RootFS.DiffIDs {
		if i >= len(cfg.RootFS.DiffIDs) || cfg.RootFS.DiffIDs[i] != want {
			got := "nothing"
			if i < len(cfg.RootFS.DiffIDs) {
				got = cfg.RootFS.DiffIDs[i].String()
			}
			return nil, &NotFromBaseError{Ref: ref, Base: o.Base, Layer: i, Want: want.String(), Got: got}
		}
	}
	if len(cfg.History) < h {
		return nil, fmt.Errorf("%s has %d history entries, fewer than the %d of %s it is built FROM: it was not built FROM that image; rebuild it", ref, len(cfg.History), h, o.Base)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading %s's layers: %w", ref, err)
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("%s: %d layers for %d diff IDs in its config", ref, len(layers), len(cfg.RootFS.DiffIDs))
	}
	t := o.Time.UTC()
	// The own layers' file times, through mutate.Time: the same rewrite normalise makes.
	own, err := mutate.AppendLayers(empty.Image, layers[n:]...)
	if err != nil {
		return nil, fmt.Errorf("reading %s's own layers: %w", ref, err)
	}
	if own, err = mutate.Time(own, t); err != nil {
		return nil, fmt.Errorf("setting the times of %s's own layers to %s: %w", ref, t.Format(time.RFC3339), err)
	}
	ownLayers, err := own.Layers()
	if err != nil {
		return nil, fmt.Errorf("setting the times of %s's own layers: %w", ref, err)
	}
	out, err := mutate.AppendLayers(base, ownLayers...)
	if err != nil {
		return nil, fmt.Errorf("appending %s's own layers to %s: %w", ref, o.Base, err)
	}
	ocfg, err := own.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading %s's own layers: %w", ref, err)
	}
	// The fields mutate.Time keeps (as normalise makes a base), plus the platform's variant and
	// OS features, which an index needs.
	c := &v1.ConfigFile{
		Architecture: cfg.Architecture, OS: cfg.OS, OSVersion: cfg.OSVersion, Variant: cfg.Variant, OSFeatures: cfg.OSFeatures,
		Config:  cfg.Config,
		Created: v1.Time{Time: t},
		RootFS: v1.RootFS{Type: "layers",
			DiffIDs: append(append([]v1.Hash(nil), bcfg.RootFS.DiffIDs...), ocfg.RootFS.DiffIDs...)},
		History: append([]v1.History(nil), bcfg.History...),
	}
	for _, e := range cfg.History[h:] {
		c.History = append(c.History, v1.History{Created: v1.Time{Time: t}, CreatedBy: e.CreatedBy, Comment: e.Comment, EmptyLayer: e.EmptyLayer})
	}
	if out, err = mutate.ConfigFile(out, c); err != nil {
		return nil, fmt.Errorf("writing %s's config: %w", ref, err)
	}
	return out, nil
}

// NotFromBaseError is an image said to be built FROM a base whose first layers are not that
// base's: it was built FROM another image (or an older build of the base), so it cannot be
// published as the base plus its own layers.
type NotFromBaseError struct {
	Ref, Base string
	// Layer is the first layer that differs; Want is the base's diff ID there, Got the image's.
	Layer     int
	Want, Got string
}

func (e *NotFromBaseError) Error() string {
	return fmt.Sprintf("%s was not built FROM %s: its layer %d is %s, the base's is %s; rebuild it FROM %s (its Dockerfile's FROM takes ARG BASE_IMAGE)",
		e.Ref, e.Base, e.Layer, e.Got, e.Want, e.Base)
}
