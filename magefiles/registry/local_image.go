package registry

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// LayerMemo remembers the compressed form of layers: by a key naming the layer's uncompressed
// digest (diff ID) and how it is compressed, the compressed blob's digest and size. An entry is a
// pure function of its key, so it never goes stale; a wrong one (a damaged cache) is found when
// the layer is compressed for an upload, and then forgotten.
type LayerMemo interface {
	CompressedLayer(key string) (digest string, size int64, ok bool)
	PutCompressedLayer(key, digest string, size int64)
	ForgetCompressedLayer(key string)
}

// gzipLevel is the compression every layer gets: go-containerregistry's (gzip.BestSpeed), so a
// layer compresses to the blob it always did.
const gzipLevel = gzip.BestSpeed

// LayerMemoKey is the memo's key for a layer: its diff ID, the compression and the Go version
// (compress/gzip's output is deterministic for one Go release, not promised across releases).
func LayerMemoKey(diffID string) string {
	return "layer gzip-" + strconv.Itoa(gzipLevel) + " " + runtime.Version() + " " + diffID
}

// LayerMemoError is a memo entry that does not match the layer it names: compressing the layer
// for an upload gave another blob. The entry is forgotten; the image's manifest, made from the
// entry, is not pushed.
type LayerMemoError struct {
	// DiffID names the layer; Key is the memo entry (LayerMemoKey).
	DiffID, Key        string
	MemoDigest, Digest string
	MemoSize, Size     int64
}

func (e *LayerMemoError) Error() string {
	return fmt.Sprintf("layer %s: the layer memo says it compresses to %s (%d bytes), but it compresses to %s (%d bytes): "+
		"the memo entry %q was wrong and is now removed; push again (the manifest naming the wrong blob was not pushed)",
		e.DiffID, e.MemoDigest, e.MemoSize, e.Digest, e.Size, e.Key)
}

// memoryLayerMemo is the default LayerMemo: a map, for one Daemon's life.
type memoryLayerMemo struct {
	mu sync.Mutex
	m  map[string]memoLayerEntry
}

type memoLayerEntry struct {
	digest string
	size   int64
}

func newMemoryLayerMemo() *memoryLayerMemo { return &memoryLayerMemo{m: map[string]memoLayerEntry{}} }

func (m *memoryLayerMemo) CompressedLayer(key string) (string, int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[key]
	return e.digest, e.size, ok
}

func (m *memoryLayerMemo) PutCompressedLayer(key, digest string, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = memoLayerEntry{digest, size}
}

func (m *memoryLayerMemo) ForgetCompressedLayer(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
}

// localImage is one image of the local daemon, read once per Daemon: its image ID and config come
// from the Engine API; its bytes from one export (`docker save` by image ID), made when first
// needed and kept in a temporary file; its layers compress at most once per Daemon.
type localImage struct {
	d         *Daemon
	ctx       context.Context
	ref       string
	id        v1.Hash
	inspected v1.Image

	cfgOnce sync.Once
	cf      *v1.ConfigFile
	cfErr   error

	expOnce sync.Once
	exp     v1.Image
	expErr  error

	mu       sync.Mutex
	layers   []*daemonLayer
	manifest *v1.Manifest
}

var _ v1.Image = (*localImage)(nil)

// MediaType implements v1.Image: a Docker image manifest, as `docker push` makes.
func (i *localImage) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }

// ConfigName implements v1.Image: the image ID, without an export.
func (i *localImage) ConfigName() (v1.Hash, error) { return i.id, nil }

// ConfigFile implements v1.Image, from the Engine API (as go-containerregistry's daemon.Image),
// without an export.
func (i *localImage) ConfigFile() (*v1.ConfigFile, error) {
	i.cfgOnce.Do(func() {
		i.cf, i.cfErr = i.inspected.ConfigFile()
		if i.cfErr != nil {
			i.cfErr = fmt.Errorf("inspecting %s: %w", i.ref, i.cfErr)
		}
	})
	if i.cfErr != nil {
		return nil, i.cfErr
	}
	return i.cf.DeepCopy(), nil
}

// RawConfigFile implements v1.Image: the config as exported, whose digest is the image ID.
func (i *localImage) RawConfigFile() ([]byte, error) {
	exp, err := i.export()
	if err != nil {
		return nil, err
	}
	return exp.RawConfigFile()
}

// export is the image's one `docker save`, by image ID, kept in a temporary file.
func (i *localImage) export() (v1.Image, error) {
	i.expOnce.Do(func() {
		i.exp, i.expErr = i.save()
		if i.expErr != nil {
			i.expErr = fmt.Errorf("exporting %s (%s) from the Docker daemon: %w", i.ref, i.id, i.expErr)
		}
	})
	return i.exp, i.expErr
}

func (i *localImage) save() (v1.Image, error) {
	rc, err := i.d.client.ImageSave(i.ctx, []string{i.id.String()})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := i.d.tempFile("image-*.tar")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, rc); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	path := f.Name()
	img, err := tarball.Image(func() (io.ReadCloser, error) { return os.Open(path) }, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the export: %w", err)
	}
	got, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("reading the export's config: %w", err)
	}
	if got != i.id {
		return nil, fmt.Errorf("the export holds image %s, not %s: the daemon answered for another image", got, i.id)
	}
	return img, nil
}

// Layers implements v1.Image: one layer per diff ID of the config, none compressed yet.
func (i *localImage) Layers() ([]v1.Layer, error) {
	ls, err := i.daemonLayers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for j, l := range ls {
		out[j] = l
	}
	return out, nil
}

func (i *localImage) daemonLayers() ([]*daemonLayer, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.layers != nil {
		return i.layers, nil
	}
	cf, err := i.ConfigFile()
	if err != nil {
		return nil, err
	}
	ls := make([]*daemonLayer, len(cf.RootFS.DiffIDs))
	for j, h := range cf.RootFS.DiffIDs {
		ls[j] = &daemonLayer{img: i, diffID: h, c: i.d.compressed(h)}
	}
	i.layers = ls
	return ls, nil
}

// Manifest implements v1.Image, as go-containerregistry makes it for an exported image: the
// config, then each layer gzipped. A layer's digest and size come from the memo when known.
func (i *localImage) Manifest() (*v1.Manifest, error) {
	ls, err := i.daemonLayers()
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.manifest != nil {
		return i.manifest.DeepCopy(), nil
	}
	raw, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cfgHash, cfgSize, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: cfgSize, Digest: cfgHash},
		Layers:        make([]v1.Descriptor, len(ls)),
	}
	for j, l := range ls {
		d, size, err := l.describe()
		if err != nil {
			return nil, err
		}
		m.Layers[j] = v1.Descriptor{MediaType: types.DockerLayer, Size: size, Digest: d}
	}
	i.manifest = m
	return m.DeepCopy(), nil
}

// RawManifest implements v1.Image.
func (i *localImage) RawManifest() ([]byte, error) { return partial.RawManifest(i) }

// Digest implements v1.Image.
func (i *localImage) Digest() (v1.Hash, error) { return partial.Digest(i) }

// Size implements v1.Image.
func (i *localImage) Size() (int64, error) { return partial.Size(i) }

// LayerByDigest implements v1.Image.
func (i *localImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if h == i.id {
		return partial.ConfigLayer(i)
	}
	ls, err := i.daemonLayers()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if d, _, err := l.describe(); err == nil && d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%s: no layer with digest %s", i.ref, h)
}

// LayerByDiffID implements v1.Image.
func (i *localImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	ls, err := i.daemonLayers()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.diffID == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%s: no layer with diff ID %s", i.ref, h)
}

// compressedLayer is what a Daemon knows of one layer (by diff ID) across its images: the
// compressed digest and size (from the memo, or from compressing it), and the compressed bytes
// once made.
type compressedLayer struct {
	diffID v1.Hash

	mu       sync.Mutex
	known    bool
	fromMemo bool
	digest   v1.Hash
	size     int64
	path     string // the compressed bytes, once made
}

// daemonLayer is a layer of one local image: its bytes come from that image's export.
type daemonLayer struct {
	img    *localImage
	diffID v1.Hash
	c      *compressedLayer
}

var _ v1.Layer = (*daemonLayer)(nil)

// DiffID implements v1.Layer.
func (l *daemonLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// MediaType implements v1.Layer.
func (l *daemonLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }

// Uncompressed implements v1.Layer, from the image's export.
func (l *daemonLayer) Uncompressed() (io.ReadCloser, error) {
	exp, err := l.img.export()
	if err != nil {
		return nil, err
	}
	ul, err := exp.LayerByDiffID(l.diffID)
	if err != nil {
		return nil, fmt.Errorf("%s: layer %s in the export: %w", l.img.ref, l.diffID, err)
	}
	return ul.Uncompressed()
}

// Digest implements v1.Layer: from the memo when known, else by compressing the layer (once).
func (l *daemonLayer) Digest() (v1.Hash, error) {
	d, _, err := l.describe()
	return d, err
}

// Size implements v1.Layer, as Digest.
func (l *daemonLayer) Size() (int64, error) {
	_, s, err := l.describe()
	return s, err
}

// Compressed implements v1.Layer: the compressed bytes, made at most once per Daemon and kept.
func (l *daemonLayer) Compressed() (io.ReadCloser, error) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == "" {
		if err := l.compressLocked(); err != nil {
			return nil, err
		}
	}
	return os.Open(c.path)
}

func (l *daemonLayer) describe() (v1.Hash, int64, error) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		if d, size, ok := l.img.d.memo.CompressedLayer(LayerMemoKey(l.diffID.String())); ok {
			if h, err := v1.NewHash(d); err == nil && size > 0 {
				c.digest, c.size, c.known, c.fromMemo = h, size, true, true
			}
		}
	}
	if !c.known {
		if err := l.compressLocked(); err != nil {
			return v1.Hash{}, 0, err
		}
	}
	return c.digest, c.size, nil
}

// compressLocked gzips the layer into a kept temporary file, checks it against what the memo
// said, and remembers its digest and size. c.mu is held.
func (l *daemonLayer) compressLocked() error {
	c, d := l.c, l.img.d
	key := LayerMemoKey(l.diffID.String())
	if d.onCompress != nil {
		d.onCompress(l.diffID.String())
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := d.tempFile("layer-*.tar.gz")
	if err != nil {
		return fmt.Errorf("%s: compressing layer %s: %w", l.img.ref, l.diffID, err)
	}
	h := sha256.New()
	n := &countingWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, h, n), 1<<16)
	gw, err := gzip.NewWriterLevel(bw, gzipLevel)
	if err == nil {
		_, err = io.Copy(gw, rc)
	}
	if err == nil {
		err = gw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("%s: compressing layer %s: %w", l.img.ref, l.diffID, err)
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	if c.known && (digest != c.digest || n.n != c.size) {
		_ = os.Remove(f.Name())
		d.memo.ForgetCompressedLayer(key)
		return &LayerMemoError{DiffID: l.diffID.String(), Key: key, MemoDigest: c.digest.String(), MemoSize: c.size,
			Digest: digest.String(), Size: n.n}
	}
	c.digest, c.size, c.known, c.path = digest, n.n, true, f.Name()
	if !c.fromMemo {
		d.memo.PutCompressedLayer(key, digest.String(), n.n)
	}
	return nil
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
