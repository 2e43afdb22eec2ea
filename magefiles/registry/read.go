package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
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
// config labels (one manifest GET and one config GET). An absent tag is Image{Present: false}; an
// answer that cannot be had is a *published.UnknownError, never "absent" (see Digest).
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
	img, err := desc.Image()
	if err != nil {
		return published.Image{}, unknown(ref, fmt.Errorf("reading the manifest of %s: %w", desc.Digest, err))
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return published.Image{}, unknown(ref, fmt.Errorf("reading the image config: %w", classify(repo.RegistryStr(), err)))
	}
	labels := map[string]string{}
	for k, v := range cfg.Config.Labels {
		labels[k] = v
	}
	return published.Image{
		Present: true,
		Digest:  desc.Digest.String(),
		Inputs:  labels[identity.LabelInputs],
		Labels:  labels,
	}, nil
}

func unknown(ref string, err error) error {
	return &published.UnknownError{What: "image " + redactText(ref), Err: safe(err)}
}
