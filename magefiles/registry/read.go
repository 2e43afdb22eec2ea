package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Digest tells whether the tag ref ("registry/repository:tag") exists and which manifest digest
// it points at, with one manifest HEAD (falling back to one GET when the registry's HEAD answer
// lacks the digest). Use it before writing to skip a tag already right or refuse one that is not.
//
// present is false only when the registry says the tag or repository does not exist (404,
// MANIFEST_UNKNOWN, NAME_UNKNOWN). Anything else that is not a clear answer — 5xx or timeouts
// after retries, 401/403 (as *AuthError), an unreachable registry (*UnreachableError), an
// unreadable answer — is a *published.UnknownError (errors.Is(err, published.ErrUnknown)).
func (c *Client) Digest(ctx context.Context, ref string) (digest string, present bool, err error) {
	r, err := c.parse(ref)
	if err != nil {
		return "", false, unknown(ref, fmt.Errorf("not a registry/repository:tag reference: %w", err))
	}
	d, ok, err := c.digest(ctx, r)
	if err != nil {
		return "", false, unknown(ref, err)
	}
	return d, ok, nil
}

// digest is Digest for a parsed reference; errors are classified and redacted, not wrapped.
func (c *Client) digest(ctx context.Context, r name.Reference) (string, bool, error) {
	repo := r.Context()
	p, err := c.puller(repo)
	if err != nil {
		return "", false, safe(err)
	}
	desc, err := p.Head(ctx, r)
	if err == nil {
		return desc.Digest.String(), true, nil
	}
	if isNotFound(err) {
		return "", false, nil
	}
	if answered(err) {
		c.forget(repo)
		return "", false, safe(classify(repo.RegistryStr(), err))
	}
	// The registry answered 200 but without what a HEAD should carry: ask with GET.
	full, gerr := p.Get(ctx, r)
	if gerr == nil {
		return full.Digest.String(), true, nil
	}
	if isNotFound(gerr) {
		return "", false, nil
	}
	c.forget(repo)
	return "", false, safe(classify(repo.RegistryStr(), gerr))
}

// answered reports whether err is a registry error answer or a transport failure, as opposed to
// an answer that could not be made sense of.
func answered(err error) bool {
	var te *transport.Error
	var ue *url.Error
	var ne net.Error
	var ie *InsecureError
	return errors.As(err, &te) || errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &ie) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Image implements published.Images: what the tag ref ("registry/repository:tag") holds, with its
// config labels (one manifest GET and one config GET). When the tag holds an image index, each
// platform's image is read (one manifest GET and one config GET each): Platforms lists them, and
// Inputs is the dev.shiplane.inputs label they all carry; platforms that disagree cannot be one
// build of one component version, and are a *published.UnknownError naming each one's label.
// An absent tag is Image{Present: false}; an answer that cannot be had is a
// *published.UnknownError, never "absent" (see Digest).
func (c *Client) Image(ctx context.Context, ref string) (published.Image, error) {
	r, err := c.parse(ref)
	if err != nil {
		return published.Image{}, unknown(ref, fmt.Errorf("not a registry/repository:tag reference: %w", err))
	}
	repo := r.Context()
	p, err := c.puller(repo)
	if err != nil {
		return published.Image{}, unknown(ref, err)
	}
	desc, err := p.Get(ctx, r)
	if err != nil {
		if isNotFound(err) {
			return published.Image{}, nil
		}
		c.forget(repo)
		return published.Image{}, unknown(ref, classify(repo.RegistryStr(), err))
	}
	if desc.MediaType.IsIndex() {
		return c.indexImage(ref, repo, desc)
	}
	img, err := desc.Image()
	if err != nil {
		return published.Image{}, unknown(ref, fmt.Errorf("reading the manifest of %s: %w", desc.Digest, err))
	}
	labels, err := configLabels(repo, img)
	if err != nil {
		return published.Image{}, unknown(ref, err)
	}
	return published.Image{
		Present: true,
		Digest:  desc.Digest.String(),
		Inputs:  labels[identity.LabelInputs],
		Labels:  labels,
	}, nil
}

// indexImage reads every platform's image of the index desc.
func (c *Client) indexImage(ref string, repo name.Repository, desc *remote.Descriptor) (published.Image, error) {
	idx, err := desc.ImageIndex()
	if err != nil {
		return published.Image{}, unknown(ref, fmt.Errorf("reading the index %s: %w", desc.Digest, err))
	}
	plats, err := indexPlatforms(desc.Digest.String(), idx)
	if err != nil {
		return published.Image{}, unknown(ref, err)
	}
	out := published.Image{Present: true, Digest: desc.Digest.String(), Platforms: plats}
	var disagree []string
	for i, pl := range plats {
		h, _ := v1.NewHash(pl.Digest) // indexPlatforms read it from a v1.Hash
		img, err := idx.Image(h)
		if err != nil {
			return published.Image{}, unknown(ref, fmt.Errorf("reading the %s image %s: %w", pl.Platform, pl.Digest, classify(repo.RegistryStr(), err)))
		}
		labels, err := configLabels(repo, img)
		if err != nil {
			return published.Image{}, unknown(ref, fmt.Errorf("the %s image %s: %w", pl.Platform, pl.Digest, err))
		}
		in := labels[identity.LabelInputs]
		if i == 0 {
			out.Labels, out.Inputs = labels, in
		} else if in != out.Inputs {
			disagree = append(disagree, fmt.Sprintf("%s carries %q", pl.Platform, in))
		}
	}
	if len(disagree) > 0 {
		return published.Image{}, unknown(ref, fmt.Errorf("its platforms' images carry different %s labels (%s carries %q, %s): "+
			"they are not one build of one version; push the index again from one build under a new version",
			identity.LabelInputs, plats[0].Platform, out.Inputs, strings.Join(disagree, ", ")))
	}
	return out, nil
}

// indexPlatforms lists the index's images by platform, in its order, leaving out what is not a
// platform's image (attestation manifests, whose platform is unknown/unknown). An index inside the
// index, or an image without a platform, is not one shiplane pushes: an error.
func indexPlatforms(digest string, idx v1.ImageIndex) ([]published.Platform, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", digest, err)
	}
	var out []published.Platform
	for _, m := range im.Manifests {
		switch {
		case m.Platform != nil && m.Platform.OS == "unknown":
			continue // an attestation, not a platform
		case !m.MediaType.IsImage():
			return nil, fmt.Errorf("the index %s holds %s, a %s: only images of one level are read", digest, m.Digest, m.MediaType)
		case m.Platform == nil:
			return nil, fmt.Errorf("the index %s holds the image %s without a platform", digest, m.Digest)
		}
		out = append(out, published.Platform{Platform: m.Platform.String(), Digest: m.Digest.String()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the index %s holds no platform's image", digest)
	}
	return out, nil
}

// configLabels reads the image's config (one GET) and returns a copy of its labels.
func configLabels(repo name.Repository, img v1.Image) (map[string]string, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", classify(repo.RegistryStr(), err))
	}
	labels := map[string]string{}
	for k, v := range cfg.Config.Labels {
		labels[k] = v
	}
	return labels, nil
}

// Platforms reads, with one manifest GET, which image each platform gets from the tag ref: its
// digest and, when it holds an image index, each platform's image digest in the index's order
// (nil for a plain image). An absent tag gives "" and nil; an answer that cannot be had is a
// *published.UnknownError (see Digest).
func (c *Client) Platforms(ctx context.Context, ref string) (digest string, platforms []published.Platform, err error) {
	r, err := c.parse(ref)
	if err != nil {
		return "", nil, unknown(ref, fmt.Errorf("not a registry/repository:tag reference: %w", err))
	}
	repo := r.Context()
	p, err := c.puller(repo)
	if err != nil {
		return "", nil, unknown(ref, err)
	}
	desc, err := p.Get(ctx, r)
	if err != nil {
		if isNotFound(err) {
			return "", nil, nil
		}
		c.forget(repo)
		return "", nil, unknown(ref, classify(repo.RegistryStr(), err))
	}
	if !desc.MediaType.IsIndex() {
		return desc.Digest.String(), nil, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return "", nil, unknown(ref, fmt.Errorf("reading the index %s: %w", desc.Digest, err))
	}
	plats, err := indexPlatforms(desc.Digest.String(), idx)
	if err != nil {
		return "", nil, unknown(ref, err)
	}
	return desc.Digest.String(), plats, nil
}

func unknown(ref string, err error) error {
	return &published.UnknownError{What: "image " + redactText(ref), Err: safe(err)}
}
