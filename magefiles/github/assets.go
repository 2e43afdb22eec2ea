package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/httpretry"
)

// assetName is what GitHub keeps as given; other characters it replaces (a space becomes a dot),
// and the asset could then never be found again by the name asked for.
var assetName = regexp.MustCompile(`^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$`)

// EnsureAsset makes release id hold an asset called name with exactly content.
//
// An asset of that name that is completely uploaded with the same size and content (compared
// with GitHub's sha256 digest when it reports one, else by downloading it) is left as it is: no
// write. On a draft, one that is incomplete (state "starter" or "new", left by an interrupted
// upload) or differs is replaced: deleted, with a progress line saying why, and uploaded again.
// A published release missing the asset is completed: the asset is uploaded (GitHub allows
// adding assets to a published release), and an incomplete one, which nobody could download,
// replaced; but a complete asset of a published release is never replaced: one that differs is
// refused with ErrPublished, and the error says which asset to delete. An upload that fails
// without a clear answer (5xx, lost connection, rate limit) is not redone before looking at the
// release's assets again, so an asset is never left twice.
func (c *Client) EnsureAsset(ctx context.Context, id int64, name string, content []byte) error {
	return c.ensureAsset(ctx, id, name, bytes.NewReader(content), int64(len(content)))
}

// EnsureAssetFile is EnsureAsset with the content read from the file at path.
func (c *Client) EnsureAssetFile(ctx context.Context, id int64, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ensuring asset %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("ensuring asset %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("ensuring asset %s: %s is not a regular file", name, path)
	}
	return c.ensureAsset(ctx, id, name, f, st.Size())
}

func (c *Client) ensureAsset(ctx context.Context, id int64, name string, src io.ReaderAt, size int64) error {
	if !assetName.MatchString(name) {
		return fmt.Errorf("asset name %q: use only letters, digits and . _ + - (not leading .): %w", name, ErrInvalidAssetName)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(src, 0, size)); err != nil {
		return fmt.Errorf("ensuring asset %s: reading its content: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	for try := 1; ; try++ {
		rel, err := c.byID(ctx, id)
		if err != nil {
			return fmt.Errorf("ensuring asset %s: %w", name, err)
		}
		list, err := c.assets(ctx, id)
		if err != nil {
			return fmt.Errorf("ensuring asset %s: %w", name, err)
		}
		var stale []staleAsset
		done := false
		for _, ga := range list {
			a := assetDetail(ga)
			if a.Name != name {
				continue
			}
			if done {
				stale = append(stale, staleAsset{a, "a second asset of that name"})
				continue
			}
			same, why, err := c.sameContent(ctx, a, size, sum)
			if err != nil {
				return fmt.Errorf("ensuring asset %s of release %s: %w", name, rel.TagName, err)
			}
			if same {
				done = true
			} else {
				stale = append(stale, staleAsset{a, why})
			}
		}
		if done && len(stale) == 0 {
			return nil
		}
		if !rel.Draft {
			for _, a := range stale {
				if a.Uploaded() {
					return fmt.Errorf("ensuring asset %s of published release %s of %s: %s; shiplane never replaces an asset "+
						"of a published release: delete it (gh release delete-asset %s %s --repo %s --yes, or Edit on %s) "+
						"and run again: %w", name, rel.TagName, c.Repo(), a.why, rel.TagName, name, c.Repo(), rel.GetHTMLURL(), ErrPublished)
				}
			}
		}
		err = c.replace(ctx, rel, name, stale, src, size, done)
		if err == nil {
			return nil
		}
		if err := c.again(ctx, try, err); err != nil {
			return err
		}
	}
}

// staleAsset is an asset to delete, and why.
type staleAsset struct {
	AssetDetail
	why string
}

// replace deletes the stale assets and, unless a good one is already there, uploads the content.
func (c *Client) replace(ctx context.Context, rel *gh.RepositoryRelease, name string, stale []staleAsset, src io.ReaderAt, size int64, have bool) error {
	kind := "draft release"
	if !rel.Draft {
		kind = "published release"
	}
	for _, a := range stale {
		if have {
			c.logf("deleting asset %s (id %d) of %s %s of %s: %s", name, a.ID, kind, rel.TagName, c.Repo(), a.why)
		} else {
			c.logf("replacing asset %s of %s %s of %s: %s", name, kind, rel.TagName, c.Repo(), a.why)
		}
		_, err := c.api.Repositories.DeleteReleaseAsset(ctx, c.owner, c.name, a.ID)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return c.apiErr(fmt.Sprintf("deleting asset %s (id %d) of release %s", name, a.ID, rel.TagName), err)
		}
	}
	if have {
		return nil
	}
	c.logf("uploading asset %s (%d bytes) to %s %s of %s", name, size, kind, rel.TagName, c.Repo())
	op := fmt.Sprintf("uploading asset %s to release %s of %s", name, rel.TagName, c.Repo())
	ctype := mime.TypeByExtension(filepath.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	u := fmt.Sprintf("repos/%s/%s/releases/%d/assets?name=%s", c.owner, c.name, rel.ID, url.QueryEscape(name))
	req, err := c.api.NewUploadRequest(ctx, u, io.NewSectionReader(src, 0, size), size, ctype)
	if err != nil {
		return fmt.Errorf("%s: %w", op, c.wrap(err))
	}
	var got gh.ReleaseAsset
	if _, err := c.api.Do(req, &got); err != nil {
		return c.apiErr(op, err)
	}
	if got.GetState() != "uploaded" || int64(got.GetSize()) != size {
		// Not a clear success: look again (and replace it) rather than trust it.
		return fmt.Errorf("%s: GitHub reports state %q and %d bytes: %w", op, got.GetState(), got.GetSize(), errIncomplete)
	}
	return nil
}

// errIncomplete marks an upload GitHub accepted without reporting it complete: worth looking
// again (see redoable).
var errIncomplete = errors.New("upload not reported complete")

// sameContent reports whether asset a is completely uploaded with size bytes whose sha256 is sum,
// and when not, why.
func (c *Client) sameContent(ctx context.Context, a AssetDetail, size int64, sum string) (bool, string, error) {
	switch {
	case !a.Uploaded():
		return false, fmt.Sprintf("its upload did not finish (state %q)", a.State), nil
	case a.Size != size:
		return false, fmt.Sprintf("it has %d bytes, not %d", a.Size, size), nil
	}
	got, err := c.AssetSHA256(ctx, a)
	if err != nil {
		return false, "", err
	}
	if got != sum {
		return false, fmt.Sprintf("its content differs (sha256 %s, not %s)", short(got), short(sum)), nil
	}
	return true, "", nil
}

func short(hexsum string) string {
	if len(hexsum) > 12 {
		return hexsum[:12]
	}
	return hexsum
}

// AssetSHA256 returns the hex sha256 of a completely uploaded asset's content: GitHub's digest
// ("sha256:<hex>") when it reports one, without a request; else the asset is downloaded and
// hashed (two requests: the API's redirect, then the download).
func (c *Client) AssetSHA256(ctx context.Context, a AssetDetail) (string, error) {
	if algo, hexsum, ok := strings.Cut(a.Digest, ":"); ok && algo == "sha256" && len(hexsum) == sha256.Size*2 {
		return strings.ToLower(hexsum), nil
	}
	if !a.Uploaded() {
		return "", fmt.Errorf("asset %s (id %d) is not completely uploaded (state %q)", a.Name, a.ID, a.State)
	}
	h := sha256.New()
	n, err := c.fetch(ctx, a, h, a.Size+1)
	if err != nil {
		return "", err
	}
	if n != a.Size {
		return "", fmt.Errorf("downloading asset %s (id %d): got %d bytes, GitHub reports %d", a.Name, a.ID, n, a.Size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// PruneAssets deletes from draft release id every asset whose name is not in keep: what a reused
// draft carries that this release does not make (a progress line names each). A published
// release is never pruned: when it carries such assets, PruneAssets deletes nothing and returns
// an error wrapping ErrPublished that names them and the command that deletes them.
func (c *Client) PruneAssets(ctx context.Context, id int64, keep []string) error {
	rel, err := c.byID(ctx, id)
	if err != nil {
		return fmt.Errorf("removing foreign assets: %w", err)
	}
	list, err := c.assets(ctx, id)
	if err != nil {
		return fmt.Errorf("removing foreign assets of release %s: %w", rel.TagName, err)
	}
	var foreign []AssetDetail
	for _, ga := range list {
		if a := assetDetail(ga); !slices.Contains(keep, a.Name) {
			foreign = append(foreign, a)
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	if !rel.Draft {
		var names, cmds []string
		for _, a := range foreign {
			names = append(names, a.Name)
			cmds = append(cmds, fmt.Sprintf("gh release delete-asset %s %s --repo %s --yes", rel.TagName, a.Name, c.Repo()))
		}
		return fmt.Errorf("published release %s of %s (%s) carries asset(s) this release does not make: %s; shiplane never "+
			"deletes from a published release: delete them (%s) and run again: %w",
			rel.TagName, c.Repo(), rel.GetHTMLURL(), strings.Join(names, ", "), strings.Join(cmds, "; "), ErrPublished)
	}
	for _, a := range foreign {
		c.logf("deleting asset %s (id %d) of draft release %s of %s: this release does not make it", a.Name, a.ID, rel.TagName, c.Repo())
		_, err := c.api.Repositories.DeleteReleaseAsset(ctx, c.owner, c.name, a.ID)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return c.apiErr(fmt.Sprintf("deleting asset %s (id %d) of draft release %s", a.Name, a.ID, rel.TagName), err)
		}
	}
	return nil
}

// fetch downloads asset a into w (a hash, or a buffer), at most limit bytes. GitHub answers with a redirect to a
// pre-signed URL; the token goes there only when it is on the API or upload host itself.
func (c *Client) fetch(ctx context.Context, a AssetDetail, w io.Writer, limit int64) (int64, error) {
	op := fmt.Sprintf("downloading asset %s (id %d) to compare it", a.Name, a.ID)
	rc, redirect, err := c.api.Repositories.DownloadReleaseAsset(ctx, c.owner, c.name, a.ID, nil)
	if err != nil {
		return 0, c.apiErr(op, err)
	}
	if rc == nil {
		u, perr := url.Parse(redirect)
		if perr != nil {
			return 0, fmt.Errorf("%s: GitHub redirected to an unreadable URL", op)
		}
		hc := c.download
		if c.tokenHosts[u.Host] {
			hc = c.authed
		}
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if rerr != nil {
			return 0, fmt.Errorf("%s: %w", op, c.wrap(rerr))
		}
		req.Header.Set("Accept", "application/octet-stream")
		resp, derr := hc.Do(req)
		if derr != nil {
			// The pre-signed URL's query is a credential of sorts: keep it out of the text.
			var ue *url.Error
			if errors.As(derr, &ue) {
				ue.URL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
			}
			return 0, fmt.Errorf("%s: %w", op, c.wrap(derr))
		}
		if resp.StatusCode != http.StatusOK {
			httpretry.Drain(resp)
			return 0, fmt.Errorf("%s: the download answered %d %s", op, resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		rc = resp.Body
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, limit))
	if err != nil {
		return n, fmt.Errorf("%s: %w", op, c.wrap(err))
	}
	return n, nil
}
