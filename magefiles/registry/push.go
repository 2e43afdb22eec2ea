package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"

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
	readBack  bool
	observed  map[string]observation
}

type observation struct {
	digest  string
	present bool
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

// AllowOverwrite lets Push move a tag that already points at another image (a moving tag such as
// "latest"): the tag is written without the checks around its manifest PUT, last writer wins.
// Default: Push refuses with *TagExistsError before writing anything, and with
// *ConcurrentWriteError when the tag is written by someone else during the push.
func AllowOverwrite() PushOption { return func(o *pushOptions) { o.overwrite = true } }

// Observed tells Push what the caller found at tag (as given to Push) earlier in this run: the
// digest it held, or that it was absent. Push then takes that answer instead of asking the tag
// first (one manifest HEAD fewer): a tag observed holding the image is left alone, one observed
// holding another image is a *TagExistsError before any write unless AllowOverwrite, and one
// observed absent is written, still asked right before its manifest PUT (a tag written since is
// then refused, as *ConcurrentWriteError, after the blobs went up). Default: every tag is asked.
func Observed(tag, digest string, present bool) PushOption {
	return func(o *pushOptions) {
		if o.observed == nil {
			o.observed = map[string]observation{}
		}
		o.observed[tag] = observation{digest: digest, present: present}
	}
}

// ReadBack makes Push read each tag it may not overwrite back right after its manifest PUT (one
// manifest HEAD more per tag), so that another push writing the tag within that round trip is
// reported as *ConcurrentWriteError (AfterPut). Default: no read-back; a write by someone else
// after our PUT goes unreported (last writer wins, as with any registry without tag immutability).
func ReadBack() PushOption { return func(o *pushOptions) { o.readBack = true } }

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
// (one manifest HEAD, or the caller's answer from Observed): tags already holding img are left
// alone, so pushing unchanged content writes nothing; a tag holding another image makes Push fail
// with *TagExistsError before any write, unless AllowOverwrite. Then, per repository, it uploads
// the blobs the repository lacks (mounting those known to be elsewhere on the registry), and then
// puts the manifest once per tag.
//
// A tag it may not overwrite is asked again right before its manifest PUT (one manifest HEAD), so
// another push of the same tag during the upload is refused as *ConcurrentWriteError: a first push
// of one such tag makes two manifest HEADs, or one with Observed. What is not caught: a write in
// the one round trip between that last check and our PUT (OCI has no conditional PUT), and a write
// after our PUT, which replaces ours unreported unless ReadBack; registry-side tag immutability
// closes both.
//
// A failure names the tag; on failure, Pushed lists the tags written before it.
func (c *Client) Push(ctx context.Context, img v1.Image, tags []string, opts ...PushOption) (Pushed, error) {
	if len(tags) == 0 {
		return Pushed{}, errors.New("pushing an image: no tags given")
	}
	d, err := img.Digest()
	if err != nil {
		return Pushed{}, safe(fmt.Errorf("pushing to %s: computing the image digest: %w", tags[0], err))
	}
	return c.push(ctx, pushable{top: img, images: []v1.Image{img}, digest: d.String()}, tags, opts)
}

// PushIndex makes every tag in tags point at the image index idx, with Push's guarantees: each
// tag is asked first, unless Observed (a tag already holding idx is left alone, so pushing an
// unchanged index makes one manifest HEAD per tag and writes nothing; a tag holding anything else
// is a *TagExistsError before any write, unless AllowOverwrite), and asked again right before its
// manifest PUT (*ConcurrentWriteError; with ReadBack also read back after it). Per repository, every image of the index has its blobs
// uploaded (or mounted, see MountFrom) and its manifest put by digest before the index is put
// by tag, so a tag never names an index whose images are missing. Pushed.Digest is the index's
// digest. An index that holds another index is refused: shiplane pushes one level.
func (c *Client) PushIndex(ctx context.Context, idx v1.ImageIndex, tags []string, opts ...PushOption) (Pushed, error) {
	if len(tags) == 0 {
		return Pushed{}, errors.New("pushing an image index: no tags given")
	}
	d, err := idx.Digest()
	if err != nil {
		return Pushed{}, safe(fmt.Errorf("pushing to %s: computing the index digest: %w", tags[0], err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return Pushed{}, safe(fmt.Errorf("pushing to %s: reading the index: %w", tags[0], err))
	}
	a := pushable{top: idx, digest: d.String(), index: true}
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			return Pushed{}, fmt.Errorf("pushing to %s: the index entry %s is a %s, not an image: only images can be pushed in an index", tags[0], m.Digest, m.MediaType)
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return Pushed{}, safe(fmt.Errorf("pushing to %s: reading the index's image %s: %w", tags[0], m.Digest, err))
		}
		a.images = append(a.images, img)
	}
	return c.push(ctx, a, tags, opts)
}

// pushable is what a tag is made to point at: an image, or an index of images.
type pushable struct {
	// top is the manifest the tags get; digest is its digest.
	top    remote.Taggable
	digest string
	// images are the images whose blobs go up first: the image itself, or the index's images,
	// each then put by digest (index).
	images []v1.Image
	index  bool
}

// push is Push and PushIndex: ask every tag, upload per repository, put the manifest per tag.
func (c *Client) push(ctx context.Context, a pushable, tags []string, opts []PushOption) (Pushed, error) {
	var po pushOptions
	for _, o := range opts {
		o(&po)
	}
	out := Pushed{Digest: a.digest}
	var err error
	parsed := make([]name.Tag, len(tags))
	for i, t := range tags {
		if parsed[i], err = c.parseTag(t); err != nil {
			return out, safe(fmt.Errorf("pushing to %q: not a registry/repository:tag reference: %w", t, err))
		}
	}

	// Ask first: nothing is written unless every tag is either absent, already right, or
	// allowed to move.
	var todo []int
	for i, t := range parsed {
		have, present, err := c.observed(ctx, po, tags[i], t)
		if err != nil {
			return out, safe(fmt.Errorf("pushing to %s: checking the tag: %w", tags[i], err))
		}
		switch {
		case present && have == out.Digest:
			out.Existing = append(out.Existing, tags[i])
		case present && !po.overwrite:
			return out, &TagExistsError{Ref: tags[i], Digest: have, Want: out.Digest}
		default:
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		c.pw.line(fmt.Sprintf("%s: already holds %s", joinTags(parsed), short(out.Digest)))
		return out, nil
	}

	ps := newPushStats()
	pctx := withPush(ctx, ps)
	uploaded := map[string]bool{} // repositories holding the images' blobs (and, for an index, manifests)
	var written []name.Tag
	for _, i := range todo {
		t := parsed[i]
		repo := t.Context()
		p, err := c.pusher(repo)
		if err != nil {
			return out, safe(fmt.Errorf("pushing to %s: %w", tags[i], err))
		}
		if !uploaded[repo.Name()] {
			// Every blob (and image of an index) first, then the manifest: the tag is asked as
			// late as can be.
			if err := c.uploadAll(pctx, p, a, repo, po.mountFrom); err != nil {
				c.forget(repo)
				c.collect(&out, ps)
				return out, safe(fmt.Errorf("pushing to %s: %w", tags[i], err))
			}
			uploaded[repo.Name()] = true
		}
		put, err := c.putTag(pctx, p, t, tags[i], a.top, out.Digest, po.overwrite, po.readBack)
		if err != nil {
			c.collect(&out, ps)
			var cw *ConcurrentWriteError
			if errors.As(err, &cw) {
				return out, err // it names the tag
			}
			return out, safe(fmt.Errorf("pushing to %s: %w", tags[i], err))
		}
		if put {
			written = append(written, t)
			out.Written = append(out.Written, t.String())
		} else {
			out.Existing = append(out.Existing, tags[i])
		}
	}
	c.collect(&out, ps)
	if len(written) == 0 {
		c.pw.line(fmt.Sprintf("%s: already holds %s", joinTags(parsed), short(out.Digest)))
		return out, nil
	}
	what := ""
	if a.index {
		what = fmt.Sprintf(" (an index of %d images)", len(a.images))
	}
	c.pw.line(fmt.Sprintf("pushed %s %s%s (%d blobs uploaded, %s; %d mounted; %d already there)",
		joinTags(written), short(out.Digest), what, out.BlobsUploaded, humanBytes(out.BytesUploaded), out.BlobsMounted, out.BlobsExisting))
	return out, nil
}

// uploadAll puts everything a's manifest refers to into repo: each image's blobs, and for an
// index each image's manifest, by digest.
func (c *Client) uploadAll(ctx context.Context, p *remote.Pusher, a pushable, repo name.Repository, mountFrom []string) error {
	for _, img := range a.images {
		if err := c.upload(ctx, p, c.mountable(img, repo, mountFrom), repo); err != nil {
			return fmt.Errorf("uploading the blobs: %w", classify(repo.RegistryStr(), err))
		}
		c.remember(img, repo)
		if !a.index {
			continue
		}
		d, err := img.Digest()
		if err != nil {
			return fmt.Errorf("computing an image's digest: %w", err)
		}
		if err := p.Put(ctx, repo.Digest(d.String()), img); err != nil {
			return fmt.Errorf("putting the index's image %s: %w", d, classify(repo.RegistryStr(), err))
		}
	}
	return nil
}

// upload puts img's layers and config into repo, c.o.jobs at a time, mounting or skipping those
// the registry has (see mountable).
func (c *Client) upload(ctx context.Context, p *remote.Pusher, img v1.Image, repo name.Repository) error {
	ls, err := img.Layers()
	if err != nil {
		return fmt.Errorf("reading the layers: %w", err)
	}
	cl, err := partial.ConfigLayer(img)
	if err != nil {
		return fmt.Errorf("reading the config: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		slots = make(chan struct{}, c.o.jobs)
	)
	for _, l := range append(ls, cl) {
		slots <- struct{}{}
		if ctx.Err() != nil {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := p.Upload(ctx, repo, l); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// observed is what the caller told Push of the tag (Observed), else one manifest HEAD.
func (c *Client) observed(ctx context.Context, po pushOptions, ref string, t name.Tag) (string, bool, error) {
	if o, ok := po.observed[ref]; ok {
		return o.digest, o.present, nil
	}
	return c.digest(ctx, t)
}

// putTag points t (ref as the caller wrote it) at img (an image or an index), whose digest is
// want, with one manifest PUT. Unless overwrite, it asks the tag right before the PUT, and with
// readBack reads it back right after: a tag holding another image then is a
// *ConcurrentWriteError, and one found already holding img is not written (put is false). put
// reports whether the PUT was made.
func (c *Client) putTag(ctx context.Context, p *remote.Pusher, t name.Tag, ref string, img remote.Taggable, want string, overwrite, readBack bool) (put bool, err error) {
	if !overwrite {
		have, present, err := c.digest(ctx, t)
		switch {
		case err != nil:
			return false, fmt.Errorf("checking the tag before writing it: %w", err)
		case present && have == want:
			return false, nil // another push of the same image got there first
		case present:
			return false, &ConcurrentWriteError{Kind: "image", Ref: ref, Ours: want, Theirs: have, Exists: &TagExistsError{Ref: ref, Digest: have, Want: want}}
		}
	}
	if err := p.Put(ctx, t, img); err != nil {
		c.forget(t.Context())
		return false, classify(t.RegistryStr(), err)
	}
	if overwrite || !readBack {
		return true, nil
	}
	have, present, err := c.digest(ctx, t)
	switch {
	case err != nil:
		return true, fmt.Errorf("reading the tag back after writing it: %w", err)
	case !present || have != want:
		return true, &ConcurrentWriteError{Kind: "image", Ref: ref, Ours: want, Theirs: have, AfterPut: true}
	}
	return true, nil
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
