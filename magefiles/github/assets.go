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
// write. One that is incomplete (state "starter" or "new", left by an interrupted upload) or
// differs is deleted and uploaded again while the release is a draft; on a published release
// that is refused with ErrPublished. An upload that fails without a clear answer is not redone
// before looking again, so an asset is never left twice.
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
		var stale []AssetDetail
		done := false
		for _, ga := range list {
			a := assetDetail(ga)
			if a.Name != name {
				continue
			}
			same := false
			if !done {
				if same, err = c.sameContent(ctx, a, size, sum); err != nil {
					return fmt.Errorf("ensuring asset %s of release %s: %w", name, rel.TagName, err)
				}
			}
			if same {
				done = true
			} else {
				stale = append(stale, a)
			}
		}
		if done && len(stale) == 0 {
			return nil
		}
		if !rel.Draft {
			return fmt.Errorf("ensuring asset %s of release %s of %s: it is missing or differs: %w", name, rel.TagName, c.Repo(), ErrPublished)
		}
		err = c.replace(ctx, rel, name, stale, src, size, done)
		if err == nil {
			return nil
		}
		if try >= c.o.retry.Attempts || !redoable(ctx, err) {
			return err
		}
		c.logf("%v; looking again before retrying (attempt %d of %d)", err, try+1, c.o.retry.Attempts)
		if serr := sleep(ctx, c.o.retry.Backoff(try)); serr != nil {
			return serr
		}
	}
}

// replace deletes the stale assets and, unless a good one is already there, uploads the content.
func (c *Client) replace(ctx context.Context, rel *gh.RepositoryRelease, name string, stale []AssetDetail, src io.ReaderAt, size int64, have bool) error {
	for _, a := range stale {
		why := "its content differs"
		switch {
		case !a.Uploaded():
			why = fmt.Sprintf("its upload did not finish (state %q)", a.State)
		case a.Size != size:
			why = fmt.Sprintf("it has %d bytes, not %d", a.Size, size)
		}
		c.logf("deleting asset %s of draft release %s: %s", name, rel.TagName, why)
		_, err := c.api.Repositories.DeleteReleaseAsset(ctx, c.owner, c.name, a.ID)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return c.apiErr(fmt.Sprintf("deleting asset %s (id %d) of release %s", name, a.ID, rel.TagName), err)
		}
	}
	if have {
		return nil
	}
	c.logf("uploading asset %s (%d bytes) to draft release %s of %s", name, size, rel.TagName, c.Repo())
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

// sameContent reports whether asset a is completely uploaded with size bytes whose sha256 is sum.
func (c *Client) sameContent(ctx context.Context, a AssetDetail, size int64, sum string) (bool, error) {
	if !a.Uploaded() || a.Size != size {
		return false, nil
	}
	if algo, hexsum, ok := strings.Cut(a.Digest, ":"); ok && algo == "sha256" {
		return strings.EqualFold(hexsum, sum), nil
	}
	h := sha256.New()
	n, err := c.fetch(ctx, a, h, size+1)
	if err != nil {
		return false, err
	}
	return n == size && hex.EncodeToString(h.Sum(nil)) == sum, nil
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
