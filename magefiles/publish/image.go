// Package publish holds the goals that put artifacts in registries: "image pushed" and "chart
// pushed". A lane sets the policy once, in the goal's fields (which tags may move); the goals
// decide only from what the registry answers.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// Registry is what ImagePushed needs of a registry client.
type Registry interface {
	Digest(ctx context.Context, ref string) (digest string, present bool, err error)
	Image(ctx context.Context, ref string) (published.Image, error)
	Push(ctx context.Context, img v1.Image, tags []string, opts ...registry.PushOption) (registry.Pushed, error)
}

// Source yields the local image to push.
type Source interface {
	LocalImage(ctx context.Context, ref string) (v1.Image, error)
}

// ImagePushed is the end state "the local image is in the registry under these tags".
type ImagePushed struct {
	// Local is the image's reference in the local daemon, e.g. "shiplane/core:1.2.0".
	Local string
	// Tags are the full references to push to, e.g. "localhost:5000/dev/core:1.2.0".
	Tags []string
	// Moving are the tags (a subset of Tags) that may be moved to a new image; every other tag is
	// immutable: a tag already holding a build of different inputs is refused before any write.
	Moving []string
	// Component and Version name the component, for the refusal's fix.
	Component, Version string
	// Key is the component's input key: an immutable tag holding an image with the same key
	// counts as achieved even when its digest differs (the same inputs built elsewhere).
	Key identity.Key
	// MountFrom names repositories that may already hold shared layers (the base image's).
	MountFrom []string
	// ByInputs decides present immutable tags by their inputs label before reading the local
	// image, so a release whose images are all published builds and reads nothing locally. The
	// dev lane leaves it false: comparing digests there costs one HEAD per tag and no GET.
	ByInputs bool

	reg  Registry
	src  Source
	memo *DigestMemo
	out  io.Writer
}

var _ goal.Goal = (*ImagePushed)(nil)

// NewImagePushed returns the goal. memo may be nil (the local digest is then computed each time).
func NewImagePushed(g ImagePushed, reg Registry, src Source, memo *DigestMemo, progress io.Writer) *ImagePushed {
	g.reg, g.src, g.memo, g.out = reg, src, memo, progress
	if g.out == nil {
		g.out = io.Discard
	}
	return &g
}

func (g *ImagePushed) String() string { return plan.ImageGoal(g.Tags) }

func (g *ImagePushed) moving(tag string) bool {
	for _, m := range g.Moving {
		if m == tag {
			return true
		}
	}
	return false
}

// plan observes every tag and returns the tags still to write and the local digest.
func (g *ImagePushed) plan(ctx context.Context) (missing []string, local string, err error) {
	digests := make(map[string]string, len(g.Tags))
	for _, t := range g.Tags {
		d, present, err := g.reg.Digest(ctx, t)
		if err != nil {
			return nil, "", err
		}
		if present {
			digests[t] = d
		}
	}
	if g.ByInputs {
		satisfied := 0
		for _, t := range g.Tags {
			if _, present := digests[t]; !present || g.moving(t) {
				continue
			}
			if err := g.sameInputs(ctx, t); err != nil {
				return nil, "", err
			}
			satisfied++
		}
		if satisfied == len(g.Tags) {
			return nil, digests[g.Tags[0]], nil
		}
	}
	local, err = g.localDigest(ctx)
	if errors.Is(err, registry.ErrNoLocalImage) {
		// Not built yet (its build goal runs first): every tag the image would fill is missing.
		var all []string
		for _, t := range g.Tags {
			if d, present := digests[t]; !present || g.moving(t) || d == "" {
				all = append(all, t)
			}
		}
		return all, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	for _, t := range g.Tags {
		d, present := digests[t]
		switch {
		case present && d == local:
			continue
		case !present:
			missing = append(missing, t)
		case g.moving(t):
			missing = append(missing, t)
		default:
			// An immutable tag holding another digest: the same inputs built elsewhere are fine.
			if err := g.sameInputs(ctx, t); err != nil {
				return nil, "", err
			}
		}
	}
	return missing, local, nil
}

// Assess reports achieved when every tag holds the local image (or, for an immutable tag, an
// image of the same inputs).
func (g *ImagePushed) Assess(ctx context.Context) (goal.State, error) {
	missing, local, err := g.plan(ctx)
	if err != nil {
		return goal.State{}, err
	}
	if len(missing) > 0 {
		return goal.State{Digest: local, Detail: "missing " + strings.Join(missing, ", ")}, nil
	}
	return goal.State{Achieved: true, Digest: local}, nil
}

// Achieve pushes the local image to the tags that do not hold it.
func (g *ImagePushed) Achieve(ctx context.Context) error {
	missing, _, err := g.plan(ctx)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	img, err := g.src.LocalImage(ctx, g.Local)
	if err != nil {
		return fmt.Errorf("reading %s from the local daemon: %w", g.Local, err)
	}
	var opts []registry.PushOption
	if len(g.MountFrom) > 0 {
		opts = append(opts, registry.MountFrom(g.MountFrom...))
	}
	// Immutable tags first, with the registry's overwrite guard on (plan found them absent, and a
	// tag that appeared since is refused); then the moving ones, which may be moved.
	var fixed, moving []string
	for _, t := range missing {
		if g.moving(t) {
			moving = append(moving, t)
		} else {
			fixed = append(fixed, t)
		}
	}
	var res registry.Pushed
	if len(fixed) > 0 {
		if res, err = g.reg.Push(ctx, img, fixed, opts...); err != nil {
			return fmt.Errorf("pushing %s: %w", g.Local, err)
		}
	}
	if len(moving) > 0 {
		if res, err = g.reg.Push(ctx, img, moving, append(opts, registry.AllowOverwrite())...); err != nil {
			return fmt.Errorf("pushing %s: %w", g.Local, err)
		}
	}
	if g.memo != nil {
		if id, err := img.ConfigName(); err == nil {
			g.memo.Put(id.String(), res.Digest)
		}
	}
	return nil
}

// localDigest is the manifest digest the local image has in a registry.
func (g *ImagePushed) localDigest(ctx context.Context) (string, error) {
	img, err := g.src.LocalImage(ctx, g.Local)
	if err != nil {
		return "", fmt.Errorf("reading %s from the local daemon: %w", g.Local, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", fmt.Errorf("reading %s's image ID: %w", g.Local, err)
	}
	if g.memo != nil {
		if d, ok := g.memo.Get(id.String()); ok {
			return d, nil
		}
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("computing %s's registry digest: %w", g.Local, err)
	}
	if g.memo != nil {
		g.memo.Put(id.String(), d.String())
	}
	return d.String(), nil
}

// sameInputs reads the image at the immutable tag t and decides, with the one same-inputs
// decision, whether it carries the component's current inputs; any other answer refuses.
func (g *ImagePushed) sameInputs(ctx context.Context, t string) error {
	img, err := g.reg.Image(ctx, t)
	if err != nil {
		return err
	}
	_, err = guard.SameInputs(guard.Subject{Component: g.Component, Version: g.Version, Ref: t, Where: "label"}, img.Inputs, string(g.Key))
	return err
}
