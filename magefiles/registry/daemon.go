package registry

import (
	"context"
	"errors"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
)

// Daemon reads images from the local Docker daemon through the Engine API.
type Daemon struct {
	client daemon.Client
}

var _ Local = (*Daemon)(nil)

// NewDaemon returns a Daemon using client; *github.com/moby/moby/client.Client satisfies
// daemon.Client.
func NewDaemon(client daemon.Client) *Daemon { return &Daemon{client: client} }

// LocalImage implements Local. The image is read lazily (`docker save`) and kept in memory once
// read; ctx bounds every read, so it must outlive the push.
func (d *Daemon) LocalImage(ctx context.Context, ref string) (v1.Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	img, err := daemon.Image(r, daemon.WithContext(ctx), daemon.WithClient(d.client))
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNoLocalImage)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from the Docker daemon: %w", ref, err)
	}
	// One inspect now, so a missing image is told apart from a daemon that cannot answer.
	if _, err := img.ConfigName(); err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%s: %w", ref, ErrNoLocalImage)
		}
		return nil, fmt.Errorf("reading %s from the Docker daemon: %w", ref, err)
	}
	return img, nil
}

// ErrNoLocalImage is a local image that does not exist (yet): not a failure to read one.
var ErrNoLocalImage = errors.New("no such image in the local daemon")
