package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Local gives images from local storage by reference, e.g. "shiplane/core:1.2.0". Daemon reads
// them from the Docker daemon; registrytest.LocalImages serves any v1.Image.
type Local interface {
	LocalImage(ctx context.Context, ref string) (v1.Image, error)
}

// PushOption configures one Push.
type PushOption func(*pushOptions)

type pushOptions struct {
	mountFrom []string
	overwrite bool
}

// MountFrom names repositories ("registry/repository", or a reference in it) that may already hold
// some of the image's blobs, e.g. the published base image's repository when pushing an image
// built FROM it. Blobs missing from the target repository are mounted from the first one on the
// same registry instead of uploaded; a registry that does not have them there answers with a
// normal upload, so a wrong guess costs nothing. Blobs this Client pushed earlier are mounted
// without being named. Default: none.
func MountFrom(repos ...string) PushOption {
	return func(o *pushOptions) { o.mountFrom = append(o.mountFrom, repos...) }
}

// AllowOverwrite lets Push move a tag that already points at another image. Default: Push refuses
// with *TagExistsError before writing anything.
func AllowOverwrite() PushOption { return func(o *pushOptions) { o.overwrite = true } }

// Pushed is the outcome of a Push.
type Pushed struct {
	// Digest is the pushed manifest's digest.
	Digest string
	// Written are the tags Push pointed at Digest; Existing are those that already did.
	Written, Existing []string
	// Stats of this push: blobs uploaded (and their bytes), mounted, found already there.
	BlobsUploaded, BlobsMounted, BlobsExisting int
	BytesUploaded                              int64
}

// PushLocal pushes the image local names in src to every tag in tags (see Push).
func (c *Client) PushLocal(ctx context.Context, src Local, local string, tags []string, opts ...PushOption) (Pushed, error) {
	img, err := src.LocalImage(ctx, local)
	if err != nil {
		return Pushed{}, safe(fmt.Errorf("pushing local image %q: %w", local, err))
	}
	p, err := c.Push(ctx, img, tags, opts...)
	if err != nil {
		return p, safe(fmt.Errorf("local image %q: %w", local, err))
	}
	return p, nil
}

// Push makes every tag in tags ("registry/repository:tag") point at img. It first asks each tag
// (one manifest HEAD): tags already holding img are left alone, so pushing unchanged content
// writes nothing; a tag holding another image makes Push fail with *TagExistsError before any
// write, unless AllowOverwrite. Then, per repository, it uploads the blobs the repository lacks
// (mounting those known to be elsewhere on the registry) and puts the manifest once per tag.
//
// A failure names the tag; on failure, Pushed lists the tags written before it.
func (c *Client) Push(ctx context.Context, img v1.Image, tags []string, opts ...PushOption) (Pushed, error) {
	var po pushOptions
	for _, o := range opts {
		o(&po)
	}
	if len(tags) == 0 {
		return Pushed{}, errors.New("pushing an image: no tags given")
	}
	d, err := img.Digest()
	if err != nil {
		return Pushed{}, safe(fmt.Errorf("pushing to %s: computing the image digest: %w", tags[0], err))
	}
	out := Pushed{Digest: d.String()}

	parsed := make([]name.Tag, len(tags))
	for i, t := range tags {
		if parsed[i], err = c.parseTag(t); err != nil {
			return out, safe(fmt.Errorf("pushing to %q: not a registry/repository:tag reference: %w", t, err))
		}
	}

	// Ask first: nothing is written unless every tag is either absent, already right, or
	// allowed to move.
	var todo []name.Tag
	for i, t := range parsed {
		have, present, err := c.digest(ctx, t)
		if err != nil {
			return out, safe(fmt.Errorf("pushing to %s: checking the tag: %w", tags[i], err))
		}
		switch {
		case present && have == out.Digest:
			out.Existing = append(out.Existing, tags[i])
		case present && !po.overwrite:
			return out, &TagExistsError{Ref: tags[i], Digest: have, Want: out.Digest}
		default:
			todo = append(todo, t)
		}
	}
	if len(todo) == 0 {
		c.pw.line(fmt.Sprintf("%s: already holds %s", joinTags(parsed), short(out.Digest)))
		return out, nil
	}

	ps := newPushStats()
	pctx := withPush(ctx, ps)
	done := map[string]bool{} // repositories holding the image's blobs and manifest
	for _, t := range todo {
		repo := t.Context()
		p, err := c.pusher(repo)
		if err != nil {
			return out, safe(fmt.Errorf("pushing to %s: %w", t, err))
		}
		if done[repo.Name()] {
			err = p.Put(pctx, t, img) // the manifest only: its blobs are there
		} else {
			err = p.Push(pctx, t, c.mountable(img, repo, po.mountFrom))
		}
		if err != nil {
			c.forget(repo)
			c.collect(&out, ps)
			return out, safe(fmt.Errorf("pushing to %s: %w", t, classify(repo.RegistryStr(), err)))
		}
		if !done[repo.Name()] {
			done[repo.Name()] = true
			c.remember(img, repo)
		}
		out.Written = append(out.Written, t.String())
	}
	c.collect(&out, ps)
	c.pw.line(fmt.Sprintf("pushed %s %s (%d blobs uploaded, %s; %d mounted; %d already there)",
		joinTags(todo), short(out.Digest), out.BlobsUploaded, humanBytes(out.BytesUploaded), out.BlobsMounted, out.BlobsExisting))
	return out, nil
}

func (c *Client) collect(out *Pushed, ps *pushStats) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out.BlobsUploaded, out.BlobsMounted, out.BlobsExisting, out.BytesUploaded = ps.uploaded, ps.mounted, ps.existing, ps.bytes
}

func joinTags(ts []name.Tag) string {
	if len(ts) == 0 {
		return ""
	}
	s := ts[0].String()
	for _, t := range ts[1:] {
		if t.Context() == ts[0].Context() {
			s += "," + t.TagStr()
		} else {
			s += " " + t.String()
		}
	}
	return s
}

// blobDigests lists the image's config and layer digests.
func blobDigests(img v1.Image) []string {
	var out []string
	if cn, err := img.ConfigName(); err == nil {
		out = append(out, cn.String())
	}
	if ls, err := img.Layers(); err == nil {
		for _, l := range ls {
			if d, err := l.Digest(); err == nil {
				out = append(out, d.String())
			}
		}
	}
	return out
}

// remember notes that repo now holds img's blobs.
func (c *Client) remember(img v1.Image, repo name.Repository) {
	ds := blobDigests(img)
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.blobs[repo.RegistryStr()]
	if m == nil {
		m = map[string]string{}
		c.blobs[repo.RegistryStr()] = m
	}
	for _, d := range ds {
		if _, ok := m[d]; !ok {
			m[d] = repo.RepositoryStr()
		}
	}
}

// mountable wraps img so that each blob carries where it may be mounted from: the repository this
// Client pushed it to, else the first hint on the same registry.
func (c *Client) mountable(img v1.Image, target name.Repository, hints []string) v1.Image {
	var hint *name.Repository
	for _, h := range hints {
		r, err := c.parseRepo(h)
		if err != nil {
			if ref, rerr := c.parse(h); rerr == nil {
				r, err = ref.Context(), nil
			}
		}
		if err == nil && r.RegistryStr() == target.RegistryStr() && r.RepositoryStr() != target.RepositoryStr() {
			hint = &r
			break
		}
	}
	c.mu.Lock()
	known := map[string]string{}
	for d, repo := range c.blobs[target.RegistryStr()] {
		if repo != target.RepositoryStr() {
			known[d] = repo
		}
	}
	c.mu.Unlock()
	if len(known) == 0 && hint == nil {
		return img
	}
	return &mountImage{Image: img, from: func(l v1.Layer) (name.Repository, bool) {
		if d, err := l.Digest(); err == nil {
			if repo, ok := known[d.String()]; ok {
				return target.Registry.Repo(repo), true
			}
		}
		if hint != nil {
			return *hint, true
		}
		return name.Repository{}, false
	}}
}

// mountImage hands go-containerregistry layers it may mount (remote.MountableLayer).
type mountImage struct {
	v1.Image
	from func(v1.Layer) (name.Repository, bool)
}

func (m *mountImage) wrap(l v1.Layer) v1.Layer {
	repo, ok := m.from(l)
	if !ok {
		return l
	}
	// The reference only names the repository; the tag is never read.
	return &remote.MountableLayer{Layer: l, Reference: repo.Tag("latest")}
}

// Layers implements v1.Image.
func (m *mountImage) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = m.wrap(l)
	}
	return out, nil
}

// LayerByDigest implements v1.Image.
func (m *mountImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := m.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return m.wrap(l), nil
}

// LayerByDiffID implements v1.Image.
func (m *mountImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := m.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return m.wrap(l), nil
}

// ConfigLayer lets the config blob be mounted too.
func (m *mountImage) ConfigLayer() (v1.Layer, error) {
	l, err := partial.ConfigLayer(m.Image)
	if err != nil {
		return nil, err
	}
	return m.wrap(l), nil
}
