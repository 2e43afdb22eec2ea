package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shiplane/shiplane/magefiles/progress"
)

// observer counts what goes over the wire and, for requests made by a push, writes the progress
// lines: one per uploaded or mounted blob and per pushed manifest. It sees every try.
type observer struct {
	inner http.RoundTripper
	c     *Client
}

var _ http.RoundTripper = (*observer)(nil)

// pushStats is what one Push did; it travels on the request context.
type pushStats struct {
	mu                                     sync.Mutex
	sessions                               map[string]int64 // upload path → bytes sent so far
	uploaded, mounted, existing, manifests int
	bytes                                  int64
}

func newPushStats() *pushStats { return &pushStats{sessions: map[string]int64{}} }

func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	t := &o.c.totals
	t.requests.Add(1)
	write := false
	switch req.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		write = true
		t.writes.Add(1)
	}
	var body *countingReader
	if req.Body != nil && req.Body != http.NoBody && write {
		// The goal pushing sees its bytes go (progress.AddBytes on the request's context).
		body = &countingReader{ReadCloser: req.Body, report: func(n int) { progress.AddBytes(req.Context(), int64(n)) }}
		if req.ContentLength > 0 {
			progress.ExpectBytes(req.Context(), req.ContentLength)
		}
		r := req.Clone(req.Context())
		r.Body = body
		req = r
	}
	resp, err := o.inner.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	var sent int64
	if body != nil {
		sent = body.n.Load()
	}
	o.note(req, resp, sent)
	return resp, nil
}

// note records one answered request.
func (o *observer) note(req *http.Request, resp *http.Response, sent int64) {
	repo, kind, rest, ok := splitAPIPath(req.URL.Path)
	if !ok {
		return
	}
	t := &o.c.totals
	ps := pushFrom(req.Context())
	where := req.URL.Host + "/" + repo
	q := req.URL.Query()
	switch {
	case kind == "blobs/uploads" && (req.Method == http.MethodPatch || req.Method == http.MethodPut):
		if ps == nil {
			if req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated {
				t.blobsUploaded.Add(1)
			}
			t.bytesUploaded.Add(sent)
			return
		}
		t.bytesUploaded.Add(sent)
		ps.mu.Lock()
		ps.sessions[rest] += sent
		total := ps.sessions[rest]
		done := req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated
		if done {
			delete(ps.sessions, rest)
			ps.uploaded++
			ps.bytes += total
		}
		ps.mu.Unlock()
		if done {
			t.blobsUploaded.Add(1)
			o.c.pw.line(fmt.Sprintf("%s: uploaded blob %s (%s)", where, short(q.Get("digest")), humanBytes(total)))
		}
	case kind == "blobs/uploads" && req.Method == http.MethodPost && q.Get("mount") != "" && resp.StatusCode == http.StatusCreated:
		t.blobsMounted.Add(1)
		if ps != nil {
			ps.mu.Lock()
			ps.mounted++
			ps.mu.Unlock()
			o.c.pw.line(fmt.Sprintf("%s: mounted blob %s from %s", where, short(q.Get("mount")), q.Get("from")))
		}
	case kind == "blobs" && req.Method == http.MethodHead && resp.StatusCode == http.StatusOK:
		t.blobsExisting.Add(1)
		if ps != nil {
			ps.mu.Lock()
			ps.existing++
			ps.mu.Unlock()
		}
	case kind == "manifests" && req.Method == http.MethodPut && resp.StatusCode == http.StatusCreated:
		t.manifestsPut.Add(1)
		if ps != nil {
			ps.mu.Lock()
			ps.manifests++
			ps.mu.Unlock()
			if strings.Contains(rest, ":") { // pushed by digest (an index's image): one 12-character hash
				o.c.pw.line(fmt.Sprintf("%s: pushed manifest %s (%s)", where, short(rest), humanBytes(sent)))
			} else {
				o.c.pw.line(fmt.Sprintf("%s: pushed manifest %s (%s, %s)", where, rest,
					short(resp.Header.Get("Docker-Content-Digest")), humanBytes(sent)))
			}
		}
	}
}

// splitAPIPath splits "/v2/<repo>/<kind>/<rest>" with kind "blobs/uploads", "blobs" or
// "manifests".
func splitAPIPath(p string) (repo, kind, rest string, ok bool) {
	p, found := strings.CutPrefix(p, "/v2/")
	if !found {
		return "", "", "", false
	}
	for _, k := range []string{"blobs/uploads", "blobs", "manifests"} {
		if i := strings.LastIndex(p, "/"+k+"/"); i > 0 {
			return p[:i], k, p[i+len(k)+2:], true
		}
		if strings.HasSuffix(p, "/"+k) && k == "blobs/uploads" {
			return strings.TrimSuffix(p, "/"+k), k, "", true
		}
	}
	return "", "", "", false
}

type countingReader struct {
	io.ReadCloser
	n      atomic.Int64
	report func(n int) // nil: none
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	if c.report != nil && n > 0 {
		c.report(n)
	}
	return n, err
}

// short shortens "sha256:0123456789abcdef..." to "0123456789ab", as every human line does.
func short(digest string) string { return progress.Short(digest) }

func humanBytes(n int64) string { return progress.HumanBytes(n) }
