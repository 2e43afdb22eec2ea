package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
)

// Daemon reads images from the local Docker daemon through the Engine API. It reads each image
// (by image ID) at most once per Daemon: LocalImage hands every caller the same image, which
// exports the image (`docker save`) only when something needs its bytes, at most once, and
// compresses each layer at most once (see WithLayerMemo). Close removes what it kept on disk.
type Daemon struct {
	client     daemon.Client
	memo       LayerMemo
	onCompress func(diffID string)

	mu     sync.Mutex
	images map[v1.Hash]*localImage
	layers map[v1.Hash]*compressedLayer // by diff ID
	dir    string                       // exports and compressed layers, made when first needed
	closed bool
}

var _ Local = (*Daemon)(nil)

// DaemonClient is the Engine API a Daemon reads images through (go-containerregistry's
// daemon.Client); *github.com/moby/moby/client.Client satisfies it.
type DaemonClient = daemon.Client

// DaemonOption configures NewDaemon.
type DaemonOption func(*Daemon)

// WithLayerMemo sets where the compressed digest and size of each layer are remembered by its
// uncompressed digest (diff ID), so an image's manifest digest is computed without compressing
// the layers seen before (e.g. the base image's, inside every image built FROM it), and a layer
// the registry already holds is never compressed. publish.DigestMemo keeps them in the user
// cache. Default: a memo in memory, for the Daemon's life.
func WithLayerMemo(m LayerMemo) DaemonOption { return func(d *Daemon) { d.memo = m } }

// OnCompress calls f with a layer's diff ID each time the Daemon compresses it, e.g. for a test
// counting compressions. Default: none.
func OnCompress(f func(diffID string)) DaemonOption { return func(d *Daemon) { d.onCompress = f } }

// NewDaemon returns a Daemon using client; *github.com/moby/moby/client.Client satisfies
// daemon.Client.
func NewDaemon(client daemon.Client, opts ...DaemonOption) *Daemon {
	d := &Daemon{client: client, images: map[v1.Hash]*localImage{}, layers: map[v1.Hash]*compressedLayer{}}
	for _, o := range opts {
		o(d)
	}
	if d.memo == nil {
		d.memo = newMemoryLayerMemo()
	}
	return d
}

// LocalImage implements Local. It asks the daemon which image ref names (one inspect) and returns
// the image this Daemon holds for that image ID, made on the first call: its bytes are exported
// (`docker save`) lazily, once, and kept on disk until Close. ctx bounds the image's reads, so
// the first call's ctx must outlive every use of the image.
func (d *Daemon) LocalImage(ctx context.Context, ref string) (v1.Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	// daemon.Image inspects the image once now; its config (ConfigFile) comes from the Engine API
	// too. Its own export is never used: the Daemon's image exports by image ID.
	img, err := daemon.Image(r, daemon.WithContext(ctx), daemon.WithClient(d.client), daemon.WithUnbufferedOpener())
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNoLocalImage)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from the Docker daemon: %w", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("%s: %w", ref, ErrNoLocalImage)
		}
		return nil, fmt.Errorf("reading %s from the Docker daemon: %w", ref, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("reading %s: the Docker daemon reader was closed", ref)
	}
	if li, ok := d.images[id]; ok {
		return li, nil
	}
	li := &localImage{d: d, ctx: ctx, ref: ref, id: id, inspected: img}
	d.images[id] = li
	return li, nil
}

// Close removes the exports and compressed layers kept on disk; images read before can no longer
// be pushed.
func (d *Daemon) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.dir == "" {
		return nil
	}
	err := os.RemoveAll(d.dir)
	d.dir = ""
	if err != nil {
		return fmt.Errorf("removing the local images' temporary copies: %w", err)
	}
	return nil
}

// tempFile makes a file in the Daemon's temporary folder.
func (d *Daemon) tempFile(pattern string) (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("the Docker daemon reader was closed")
	}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "shiplane-images-*")
		if err != nil {
			return nil, fmt.Errorf("making a temporary folder for exported images (set TMPDIR to a writable folder): %w", err)
		}
		d.dir = dir
	}
	return os.CreateTemp(d.dir, pattern)
}

// compressed returns the run's one record of the layer with this diff ID.
func (d *Daemon) compressed(diffID v1.Hash) *compressedLayer {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.layers[diffID]
	if !ok {
		c = &compressedLayer{diffID: diffID}
		d.layers[diffID] = c
	}
	return c
}

// ErrNoLocalImage is a local image that does not exist (yet): not a failure to read one.
var ErrNoLocalImage = errors.New("no such image in the local daemon")
