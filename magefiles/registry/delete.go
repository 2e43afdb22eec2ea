package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrDeleteUnsupported is a registry that refuses to delete manifests (405 Method Not Allowed, or
// the UNSUPPORTED error code: the reference registry with storage.delete.enabled false, and many
// hosted registries). *DeleteUnsupportedError wraps it.
var ErrDeleteUnsupported = errors.New("the registry does not allow deleting manifests")

// DeleteUnsupportedError is a manifest delete the registry refused as unsupported.
type DeleteUnsupportedError struct {
	// Ref is the tag whose manifest was to be deleted; Digest the manifest.
	Ref, Digest string
	// Status is the HTTP status of the answer.
	Status int
}

func (e *DeleteUnsupportedError) Error() string {
	return fmt.Sprintf("deleting %s (%s): the registry refused the DELETE (%d): it does not allow deleting manifests; "+
		"enable deletes on the registry (storage.delete.enabled for the reference registry) or delete it in the registry's own interface",
		e.Ref, e.Digest, e.Status)
}

// Unwrap returns ErrDeleteUnsupported.
func (e *DeleteUnsupportedError) Unwrap() error { return ErrDeleteUnsupported }

// DeleteManifest deletes the manifest digest from the repository of ref ("registry/repository:tag"),
// with one DELETE by digest: every tag pointing at that manifest goes with it, and nothing else is
// touched, so a tag moved to another manifest since is never deleted. A manifest already gone
// (404, MANIFEST_UNKNOWN) is not an error. A registry that does not allow deletes answers a
// *DeleteUnsupportedError (errors.Is(err, ErrDeleteUnsupported)); 401/403 an *AuthError.
func (c *Client) DeleteManifest(ctx context.Context, ref, digest string) error {
	r, err := c.parse(ref)
	if err != nil {
		return fmt.Errorf("deleting %s: not a registry/repository:tag reference: %w", ref, err)
	}
	repo := r.Context()
	d, err := c.parse(repo.Name() + "@" + digest)
	if err != nil {
		return fmt.Errorf("deleting %s: digest %q: %w", ref, digest, err)
	}
	err = remote.Delete(d, append(c.remoteOptions(), remote.WithContext(ctx))...)
	switch {
	case err == nil, isNotFound(err):
		return nil
	case unsupported(err):
		return &DeleteUnsupportedError{Ref: ref, Digest: digest, Status: statusOf(err)}
	}
	c.forget(repo)
	return fmt.Errorf("deleting %s (%s): %w", ref, digest, safe(classify(repo.RegistryStr(), err)))
}

// unsupported reports a registry answering that it does not allow the operation.
func unsupported(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.UnsupportedErrorCode {
			return true
		}
	}
	return false
}
