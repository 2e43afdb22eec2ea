// Package publish holds the goals that put artifacts in registries: "image pushed" and "chart
// pushed". A lane sets the policy once, in the goal's fields (which tags may move); the goals
// decide only from what the registry answers.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	PushIndex(ctx context.Context, idx v1.ImageIndex, tags []string, opts ...registry.PushOption) (registry.Pushed, error)
	Platforms(ctx context.Context, ref string) (digest string, platforms []published.Platform, err error)
}

// Source yields the local image to push.
type Source interface {
	LocalImage(ctx context.Context, ref string) (v1.Image, error)
}

// LocalImage is one platform's image in the local daemon.
type LocalImage struct {
	// Platform is "os/arch[/variant]", e.g. "linux/arm64"; "" for the daemon's own platform (a
	// component that lists no platforms).
	Platform string
	// Ref is the image's local reference, e.g. "shiplane/core:1.2.0-linux-arm64".
	Ref string
}

// ImagePushed is the end state "the local image is in the registry under these tags": one image,
// or an OCI image index of one image per platform.
type ImagePushed struct {
	// Local lists the image's local references, one per platform. One entry is pushed as that
	// image, a plain image manifest in the media types the daemon gave (as before platforms
	// existed). Two or more are pushed as an OCI image index (see Index): each platform's image in
	// OCI media types under its platform, the index in the order listed; the tags then name the
	// index, and Assess's digest is the index's.
	Local []LocalImage
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
	// local is the local artifact read last: Assess, Achieve and the push share it (and so one
	// export and one compression per layer) while the image IDs stay the same.
	local *localArtifact
	// pushed is what Achieve pushed, so the assessment after it reports each platform's digest
	// even when it decides by inputs (and so reads no index).
	pushed *localDigest
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

// plan observes every tag and returns the tags still to write and the local digest (with each
// platform's, for an index), and the digest each present tag was found holding.
func (g *ImagePushed) plan(ctx context.Context) (missing []string, local localDigest, digests map[string]string, err error) {
	digests = make(map[string]string, len(g.Tags))
	for _, t := range g.Tags {
		d, present, err := g.reg.Digest(ctx, t)
		if err != nil {
			return nil, local, nil, err
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
				return nil, local, nil, err
			}
			satisfied++
		}
		if satisfied == len(g.Tags) {
			if g.pushed != nil && g.pushed.digest == digests[g.Tags[0]] {
				return nil, *g.pushed, digests, nil
			}
			return nil, localDigest{digest: digests[g.Tags[0]]}, digests, nil
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
		return all, localDigest{}, digests, nil
	}
	if err != nil {
		return nil, local, nil, err
	}
	for _, t := range g.Tags {
		d, present := digests[t]
		switch {
		case present && d == local.digest:
			continue
		case !present:
			missing = append(missing, t)
		case g.moving(t):
			missing = append(missing, t)
		default:
			// An immutable tag holding another digest: the same inputs built elsewhere are fine.
			if err := g.sameInputs(ctx, t); err != nil {
				return nil, local, nil, err
			}
		}
	}
	return missing, local, digests, nil
}

// Assess reports achieved when every tag holds the local image (or, for an immutable tag, an
// image of the same inputs).
func (g *ImagePushed) Assess(ctx context.Context) (goal.State, error) {
	missing, local, _, err := g.plan(ctx)
	if err != nil {
		return goal.State{}, err
	}
	if len(missing) > 0 {
		return goal.State{Digest: local.digest, Platforms: local.platforms, Detail: "missing " + strings.Join(missing, ", ")}, nil
	}
	return goal.State{Achieved: true, Digest: local.digest, Platforms: local.platforms}, nil
}

// Achieve pushes the local image to the tags that do not hold it.
func (g *ImagePushed) Achieve(ctx context.Context) error {
	missing, _, seen, err := g.plan(ctx)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	a, err := g.readLocal(ctx)
	if err != nil {
		return err
	}
	var opts []registry.PushOption
	if len(g.MountFrom) > 0 {
		opts = append(opts, registry.MountFrom(g.MountFrom...))
	}
	// What plan observed this run stands for the push's first question of each tag; the tag is
	// still asked right before its manifest PUT.
	for _, t := range missing {
		d, present := seen[t]
		opts = append(opts, registry.Observed(t, d, present))
	}
	push := func(tags []string, opts []registry.PushOption) (registry.Pushed, error) {
		if a.idx != nil {
			return g.reg.PushIndex(ctx, a.idx, tags, opts...)
		}
		return g.reg.Push(ctx, a.img, tags, opts...)
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
		if res, err = push(fixed, opts); err != nil {
			return fmt.Errorf("pushing %s: %w", g.localNames(), err)
		}
	}
	if len(moving) > 0 {
		if res, err = push(moving, append(opts, registry.AllowOverwrite())); err != nil {
			return fmt.Errorf("pushing %s: %w", g.localNames(), err)
		}
	}
	if g.memo != nil && a.key != "" {
		g.memo.Put(a.key, res.Digest)
	}
	g.pushed = &localDigest{digest: res.Digest}
	if a.idx != nil {
		g.pushed.platforms, _ = g.platformDigests(a.idx) // only for the report
	}
	return nil
}

// platformDigests maps each of g.Local's platforms to its image's digest in idx (made from
// g.Local, in its order).
func (g *ImagePushed) platformDigests(idx v1.ImageIndex) (map[string]string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading %s's index: %w", g.localNames(), err)
	}
	if len(im.Manifests) != len(g.Local) {
		return nil, fmt.Errorf("%s's index lists %d images for %d platforms", g.localNames(), len(im.Manifests), len(g.Local))
	}
	out := make(map[string]string, len(g.Local))
	for i, l := range g.Local {
		out[l.Platform] = im.Manifests[i].Digest.String()
	}
	return out, nil
}

// localNames names the local images, for messages.
func (g *ImagePushed) localNames() string {
	names := make([]string, len(g.Local))
	for i, l := range g.Local {
		names[i] = l.Ref
	}
	return strings.Join(names, ", ")
}

// localArtifact is what the tags get: the one image, or the index of the platforms' images.
type localArtifact struct {
	img v1.Image
	idx v1.ImageIndex
	// key is the memo's key for its digest: the image ID, or each platform's image ID.
	key string
	// ids are the platforms' image IDs (an index).
	ids []string
}

// localDigest is the digest the local image or index has in a registry, and for an index each
// platform's image digest.
type localDigest struct {
	digest    string
	platforms map[string]string
}

// readLocal reads the local images from the source, and for several platforms makes their index.
func (g *ImagePushed) readLocal(ctx context.Context) (localArtifact, error) {
	if len(g.Local) == 0 {
		return localArtifact{}, fmt.Errorf("%s: no local image to push (the goal lists none)", g.Component)
	}
	var out localArtifact
	imgs := make([]PlatformImage, len(g.Local))
	for i, l := range g.Local {
		img, err := g.src.LocalImage(ctx, l.Ref)
		if err != nil {
			return localArtifact{}, fmt.Errorf("reading %s from the local daemon: %w", l.Ref, err)
		}
		id, err := img.ConfigName()
		if err != nil {
			return localArtifact{}, fmt.Errorf("reading %s's image ID: %w", l.Ref, err)
		}
		imgs[i] = PlatformImage{Platform: l.Platform, Image: img}
		out.ids = append(out.ids, id.String())
	}
	if g.local != nil && slices.Equal(g.local.ids, out.ids) {
		return *g.local, nil // the same images: the artifact made before, digests and all
	}
	if len(imgs) == 1 {
		out.img, out.key = imgs[0].Image, out.ids[0]
		g.local = &out
		return out, nil
	}
	idx, err := Index(imgs)
	if err != nil {
		return localArtifact{}, fmt.Errorf("%s %s: %w", g.Component, g.Version, err)
	}
	out.idx = idx
	var key strings.Builder
	key.WriteString("oci index")
	for i, l := range g.Local {
		fmt.Fprintf(&key, " %s=%s", l.Platform, out.ids[i])
	}
	out.key = key.String()
	g.local = &out
	return out, nil
}

// localDigest is the manifest digest the local image (or index) has in a registry, from the memo
// when these image IDs were seen before.
func (g *ImagePushed) localDigest(ctx context.Context) (localDigest, error) {
	a, err := g.readLocal(ctx)
	if err != nil {
		return localDigest{}, err
	}
	if a.idx == nil {
		if g.memo != nil {
			if d, ok := g.memo.Get(a.key); ok {
				return localDigest{digest: d}, nil
			}
		}
		d, err := a.img.Digest()
		if err != nil {
			return localDigest{}, fmt.Errorf("computing %s's registry digest: %w", g.localNames(), err)
		}
		if g.memo != nil {
			g.memo.Put(a.key, d.String())
		}
		return localDigest{digest: d.String()}, nil
	}
	out := localDigest{platforms: map[string]string{}}
	if g.memo != nil {
		d, ok := g.memo.Get(a.key)
		for i, l := range g.Local {
			pd, pok := g.memo.Get("oci " + a.ids[i])
			ok = ok && pok
			out.platforms[l.Platform] = pd
		}
		if ok {
			out.digest = d
			return out, nil
		}
	}
	d, err := a.idx.Digest()
	if err != nil {
		return localDigest{}, fmt.Errorf("computing the registry digest of %s's index: %w", g.localNames(), err)
	}
	if out.platforms, err = g.platformDigests(a.idx); err != nil {
		return localDigest{}, err
	}
	out.digest = d.String()
	if g.memo != nil {
		for i, l := range g.Local {
			g.memo.Put("oci "+a.ids[i], out.platforms[l.Platform])
		}
		g.memo.Put(a.key, out.digest)
	}
	return out, nil
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
