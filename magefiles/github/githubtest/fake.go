// Package githubtest holds a FAKE of the GitHub REST API's release endpoints (and the git refs
// and tag objects a release's tag resolves through: SeedTag, SeedAnnotatedTag): an httptest server
// that speaks the real routes, payloads and status codes go-github uses, over in-memory state. The
// real API cannot be reached from the build machines, so this is the only GitHub a test can talk
// to; it models the behaviours a publisher must cope with rather than every field GitHub returns:
//
//   - GET /releases/tags/{tag} never returns a draft (only published releases have a tag): it
//     answers 404 when only drafts carry the tag;
//   - any number of drafts may carry the same tag (GitHub does not stop a second draft);
//   - drafts are seen only by an authenticated caller (one that sends an Authorization header,
//     the right token under RequireToken): the release list leaves them out for others, and
//     GET /releases/{id} and its assets answer 404;
//   - a release records the target_commitish it was created or updated with ("main" when none
//     was sent, standing for the default branch);
//   - assets can be uploaded to, and deleted from, a published release as well as a draft;
//   - publishing, or creating a published release, for a tag that already has a published
//     release is refused with 422 already_exists;
//   - an asset name is unique within a release: uploading a name that exists, in any state, is
//     refused with 422 already_exists;
//   - an upload cut off mid-body leaves an asset in state "starter" behind (see Fault.Drop);
//   - GET /releases/assets/{id} with Accept: application/octet-stream answers 302 to an
//     unauthenticated, pre-signed-style download URL on the same server;
//   - uploads are served at the root (github.com style, same host) and under /api/uploads/, the
//     API at the root and under /api/v3/ (GitHub Enterprise Server style).
//
// Every request is logged and counted by method and route (the Route constants, spelled like
// go-github's "//meta:operation" lines), and faults can be injected to test retries and crash
// recovery.
package githubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Routes, as counted by Fake.Count and matched by Fault.Route.
const (
	RouteGetReleaseByTag = "GET /repos/{owner}/{repo}/releases/tags/{tag}"
	RouteListReleases    = "GET /repos/{owner}/{repo}/releases"
	RouteCreateRelease   = "POST /repos/{owner}/{repo}/releases"
	RouteGetRelease      = "GET /repos/{owner}/{repo}/releases/{release_id}"
	RouteUpdateRelease   = "PATCH /repos/{owner}/{repo}/releases/{release_id}"
	RouteDeleteRelease   = "DELETE /repos/{owner}/{repo}/releases/{release_id}"
	RouteListAssets      = "GET /repos/{owner}/{repo}/releases/{release_id}/assets"
	RouteUploadAsset     = "POST /repos/{owner}/{repo}/releases/{release_id}/assets"
	RouteGetAsset        = "GET /repos/{owner}/{repo}/releases/assets/{asset_id}"
	RouteDeleteAsset     = "DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}"
	RouteGetRef          = "GET /repos/{owner}/{repo}/git/ref/{ref}"
	RouteGetTag          = "GET /repos/{owner}/{repo}/git/tags/{tag_sha}"
	// RouteDownload is where GetAsset with Accept: application/octet-stream redirects to; like
	// GitHub's pre-signed storage URLs it needs no token.
	RouteDownload = "GET /_fake/downloads/{asset_id}"
)

// Asset states as GitHub reports them.
const (
	StateUploaded = "uploaded"
	// StateStarter is what an interrupted upload leaves behind.
	StateStarter = "starter"
)

// Release is a snapshot of one release in the fake.
type Release struct {
	ID              int64
	Tag             string
	Name            string
	Body            string
	TargetCommitish string
	Draft           bool
	Prerelease      bool
	// MakeLatest is the last make_latest value sent when creating or updating it.
	MakeLatest string
	Assets     []Asset
}

// Asset is a snapshot of one release asset in the fake.
type Asset struct {
	ID          int64
	Name        string
	Label       string
	State       string
	ContentType string
	// Size is what the API reports; for a seeded or interrupted asset it may differ from
	// len(Content).
	Size    int64
	Content []byte
}

// Request is one logged request.
type Request struct {
	Method string
	// Path is the URL path as received (with any /api/v3 or /api/uploads prefix).
	Path string
	// Route is one of the Route constants, or "METHOD path" for a path the fake does not serve.
	Route string
	// Faulted is true when an injected fault answered it.
	Faulted bool
}

// Fault makes matching requests fail. Faults are consulted in the order injected; the first
// active one that matches a request answers it.
type Fault struct {
	// Route selects the requests (a Route constant); "" matches every request.
	Route string
	// Skip lets this many matching requests through before the fault starts.
	Skip int
	// Times is how many matching requests fail: 0 means once, a negative number means every one.
	Times int
	// Status is the HTTP status to answer with, e.g. 500, 502, 401, 403, 429. Zero with Delay
	// set only delays the request, which is then served normally.
	Status int
	// Header is added to the fault's answer (e.g. "Retry-After": "1").
	Header map[string]string
	// Message is the JSON "message"; default: the status text.
	Message string
	// DocumentationURL is the JSON "documentation_url" (GitHub marks secondary rate limits with
	// it, e.g. ".../rate-limits-for-the-rest-api#about-secondary-rate-limits").
	DocumentationURL string
	// Apply carries the request out before answering with the fault: the change is made and the
	// answer lost, as when a gateway times out after the backend acted.
	Apply bool
	// Delay holds the request this long (or until the client gives up) before answering.
	Delay time.Duration
	// Drop closes the connection without answering. On an upload it first reads DropAfter bytes
	// of the body (default: half of it) and leaves an asset in state "starter" behind, as an
	// upload killed mid-way does on GitHub.
	Drop      bool
	DropAfter int
}

type fault struct {
	Fault
	seen, fired int
}

func (f *fault) active() bool { return f.Times < 0 || f.fired < max(f.Times, 1) }

// Option configures NewFake.
type Option func(*Fake)

// RequireToken makes every API and upload request need "Authorization: Bearer <token>" (or
// "token <token>"); others get 401 Bad credentials. Default: no token needed.
func RequireToken(token string) Option { return func(f *Fake) { f.token = token } }

// WithoutDigests makes assets carry no "digest" field, as on GitHub Enterprise Server versions
// before it existed, so clients must compare content some other way. Default: uploaded assets
// carry "digest": "sha256:<hex>" as on github.com.
func WithoutDigests() Option { return func(f *Fake) { f.digests = false } }

// WithGitRepository makes the git refs and tag objects routes answer from the real git
// repository at dir (the bare remote a test pushes tags to), as GitHub answers from the
// repository it hosts: a tag pushed there is seen, a tag moved there is seen moved. Refs seeded
// with SeedTag or SeedAnnotatedTag still win. Default: only the seeded refs exist.
func WithGitRepository(dir string) Option { return func(f *Fake) { f.gitDir = dir } }

// WithMaxPerPage caps per_page on list endpoints. Default: 100, GitHub's cap.
func WithMaxPerPage(n int) Option {
	return func(f *Fake) {
		if n > 0 {
			f.maxPerPage = n
		}
	}
}

// Fake is the fake GitHub API server. Safe for concurrent use.
type Fake struct {
	tb         testing.TB
	srv        *httptest.Server
	owner      string
	name       string
	token      string
	digests    bool
	maxPerPage int

	mu       sync.Mutex
	nextID   int64
	releases map[int64]*release
	assets   map[int64]*asset
	// refs are git refs ("tags/v1.0.0") to their object, tagObjects annotated tag objects' sha to
	// what they point at (SeedTag, SeedAnnotatedTag).
	refs       map[string]gitObject
	tagObjects map[string]gitObject
	// gitDir, when set, is the git repository refs are also read from (WithGitRepository).
	gitDir string
	counts map[string]int
	log    []Request
	faults []*fault
}

type release struct {
	id                        int64
	tag, name, body, target   string
	draft, prerelease         bool
	makeLatest                string
	created, updated, publish time.Time
	assets                    []int64
}

type asset struct {
	id, release               int64
	name, label, state, ctype string
	size                      int64
	content                   []byte
	created                   time.Time
	hasDigest                 bool
	digest                    string
	downloadCount             int
}

// NewFake starts a fake serving repo ("owner/name") and closes it when the test ends.
func NewFake(tb testing.TB, repo string, opts ...Option) *Fake {
	tb.Helper()
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		tb.Fatalf("githubtest.NewFake: repo %q is not owner/name", repo)
	}
	f := &Fake{
		tb: tb, owner: owner, name: name, digests: true, maxPerPage: 100, nextID: 1000,
		releases: map[int64]*release{}, assets: map[int64]*asset{}, counts: map[string]int{},
		refs: map[string]gitObject{}, tagObjects: map[string]gitObject{},
	}
	for _, o := range opts {
		o(f)
	}
	f.srv = httptest.NewServer(f)
	tb.Cleanup(f.srv.Close)
	return f
}

// URL is the API base URL in github.com style: API and uploads on the same host, at the root.
func (f *Fake) URL() string { return f.srv.URL + "/" }

// EnterpriseURL is the API base URL in GitHub Enterprise Server style ("<host>/api/v3/"); its
// uploads are served under "<host>/api/uploads/".
func (f *Fake) EnterpriseURL() string { return f.srv.URL + "/api/v3/" }

// Close stops the server (NewFake also arranges for it at the end of the test).
func (f *Fake) Close() { f.srv.Close() }

// Inject adds a fault.
func (f *Fake) Inject(flt Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault{Fault: flt})
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Count is how many requests hit route (a Route constant), faulted ones included.
func (f *Fake) Count(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[route]
}

// Total is how many requests were received.
func (f *Fake) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.log)
}

// Writes is how many POST, PUT, PATCH and DELETE requests were received.
func (f *Fake) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.log {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			n++
		}
	}
	return n
}

// Requests returns the request log, oldest first.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.log...)
}

// ResetCounts forgets the request log and counts (state and faults stay).
func (f *Fake) ResetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
	f.counts = map[string]int{}
}

// Releases returns every release, by ascending ID, with its assets in upload order.
func (f *Fake) Releases() []Release {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]int64, 0, len(f.releases))
	for id := range f.releases {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]Release, 0, len(ids))
	for _, id := range ids {
		out = append(out, f.snapshot(f.releases[id]))
	}
	return out
}

func (f *Fake) snapshot(r *release) Release {
	s := Release{
		ID: r.id, Tag: r.tag, Name: r.name, Body: r.body, TargetCommitish: r.target,
		Draft: r.draft, Prerelease: r.prerelease, MakeLatest: r.makeLatest,
	}
	for _, aid := range r.assets {
		a := f.assets[aid]
		s.Assets = append(s.Assets, Asset{
			ID: a.id, Name: a.name, Label: a.label, State: a.state, ContentType: a.ctype,
			Size: a.size, Content: append([]byte(nil), a.content...),
		})
	}
	return s
}

// SeedRelease adds a release directly (no request is logged) and returns its ID; r.ID and
// r.Assets are ignored.
func (f *Fake) SeedRelease(r Release) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	rel := &release{
		id: f.newID(), tag: r.Tag, name: r.Name, body: r.Body, target: r.TargetCommitish,
		draft: r.Draft, prerelease: r.Prerelease, makeLatest: r.MakeLatest, created: now, updated: now,
	}
	if rel.target == "" {
		rel.target = "main"
	}
	if !rel.draft {
		rel.publish = now
	}
	f.releases[rel.id] = rel
	return rel.id
}

// SeedAsset attaches an asset directly (no request is logged) and returns its ID. State
// defaults to "uploaded", Size to len(Content), ContentType to application/octet-stream.
func (f *Fake) SeedAsset(releaseID int64, a Asset) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[releaseID]
	if rel == nil {
		f.tb.Fatalf("githubtest: SeedAsset: no release %d", releaseID)
		return 0
	}
	if a.State == "" {
		a.State = StateUploaded
	}
	if a.Size == 0 {
		a.Size = int64(len(a.Content))
	}
	if a.ContentType == "" {
		a.ContentType = "application/octet-stream"
	}
	return f.addAsset(rel, a.Name, a.Label, a.ContentType, a.State, a.Size, a.Content).id
}

func (f *Fake) newID() int64 {
	f.nextID++
	return f.nextID
}

func (f *Fake) addAsset(rel *release, name, label, ctype, state string, size int64, content []byte) *asset {
	a := &asset{
		id: f.newID(), release: rel.id, name: name, label: label, state: state, ctype: ctype,
		size: size, content: append([]byte(nil), content...), created: time.Now().UTC(),
	}
	if state == StateUploaded && f.digests {
		sum := sha256.Sum256(a.content)
		a.hasDigest, a.digest = true, "sha256:"+hex.EncodeToString(sum[:])
	}
	f.assets[a.id] = a
	rel.assets = append(rel.assets, a.id)
	return a
}

func (f *Fake) removeAsset(a *asset) {
	delete(f.assets, a.id)
	if rel := f.releases[a.release]; rel != nil {
		for i, id := range rel.assets {
			if id == a.id {
				rel.assets = append(rel.assets[:i], rel.assets[i+1:]...)
				break
			}
		}
	}
}

// ---- HTTP ----

// where says which URL space a request came in on.
type where int

const (
	atRoot    where = iota // github.com style: API and uploads on one host
	atAPI                  // /api/v3/...
	atUploads              // /api/uploads/...
)

type route struct {
	name      string
	where     where
	prefix    string // "/api/v3", "/api/uploads" or ""
	releaseID int64
	assetID   int64
	tag       string
	ownRepo   bool
}

func (f *Fake) match(r *http.Request) route {
	p := r.URL.Path
	rt := route{where: atRoot}
	switch {
	case strings.HasPrefix(p, "/api/v3/"):
		rt.where, rt.prefix, p = atAPI, "/api/v3", strings.TrimPrefix(p, "/api/v3")
	case strings.HasPrefix(p, "/api/uploads/"):
		rt.where, rt.prefix, p = atUploads, "/api/uploads", strings.TrimPrefix(p, "/api/uploads")
	}
	unknown := route{name: r.Method + " " + r.URL.Path}
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if rt.where == atRoot && len(seg) == 3 && seg[0] == "_fake" && seg[1] == "downloads" && r.Method == http.MethodGet {
		id, err := strconv.ParseInt(seg[2], 10, 64)
		if err != nil {
			return unknown
		}
		rt.name, rt.assetID = RouteDownload, id
		return rt
	}
	if len(seg) >= 6 && seg[0] == "repos" && seg[3] == "git" && rt.where != atUploads && r.Method == http.MethodGet {
		rt.ownRepo = strings.EqualFold(seg[1], f.owner) && strings.EqualFold(seg[2], f.name)
		switch {
		case seg[4] == "ref":
			rt.name, rt.tag = RouteGetRef, strings.Join(seg[5:], "/")
		case seg[4] == "tags" && len(seg) == 6:
			rt.name, rt.tag = RouteGetTag, seg[5]
		default:
			return unknown
		}
		return rt
	}
	if len(seg) < 4 || seg[0] != "repos" || seg[3] != "releases" {
		return unknown
	}
	rt.ownRepo = strings.EqualFold(seg[1], f.owner) && strings.EqualFold(seg[2], f.name)
	rest := seg[4:]
	api := rt.where != atUploads
	switch {
	case len(rest) == 0 && api && r.Method == http.MethodGet:
		rt.name = RouteListReleases
	case len(rest) == 0 && api && r.Method == http.MethodPost:
		rt.name = RouteCreateRelease
	case len(rest) >= 2 && rest[0] == "tags" && api && r.Method == http.MethodGet:
		rt.name, rt.tag = RouteGetReleaseByTag, strings.Join(rest[1:], "/")
	case len(rest) == 2 && rest[0] == "assets" && api:
		id, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			return unknown
		}
		rt.assetID = id
		switch r.Method {
		case http.MethodGet:
			rt.name = RouteGetAsset
		case http.MethodDelete:
			rt.name = RouteDeleteAsset
		default:
			return unknown
		}
	case len(rest) == 1 || (len(rest) == 2 && rest[1] == "assets"):
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			return unknown
		}
		rt.releaseID = id
		switch {
		case len(rest) == 1 && api && r.Method == http.MethodGet:
			rt.name = RouteGetRelease
		case len(rest) == 1 && api && r.Method == http.MethodPatch:
			rt.name = RouteUpdateRelease
		case len(rest) == 1 && api && r.Method == http.MethodDelete:
			rt.name = RouteDeleteRelease
		case len(rest) == 2 && api && r.Method == http.MethodGet:
			rt.name = RouteListAssets
		case len(rest) == 2 && rt.where != atAPI && r.Method == http.MethodPost:
			rt.name = RouteUploadAsset
		default:
			return unknown
		}
	default:
		return unknown
	}
	return rt
}

// ServeHTTP implements http.Handler.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := f.match(r)
	flt := f.record(r, rt)
	if flt != nil {
		if !f.applyFault(w, r, rt, flt) {
			return
		}
	}
	f.serve(w, r, rt)
}

// record logs the request and returns the fault that answers it, if any.
func (f *Fake) record(r *http.Request, rt route) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[rt.name]++
	req := Request{Method: r.Method, Path: r.URL.Path, Route: rt.name}
	var hit *Fault
	for _, flt := range f.faults {
		if flt.Route != "" && flt.Route != rt.name {
			continue
		}
		if !flt.active() {
			continue
		}
		flt.seen++
		if flt.seen <= flt.Skip {
			continue
		}
		flt.fired++
		c := flt.Fault
		hit = &c
		req.Faulted = true
		break
	}
	f.log = append(f.log, req)
	return hit
}

// applyFault answers with the fault; it reports whether the request should be served normally
// instead (a delay-only fault).
func (f *Fake) applyFault(w http.ResponseWriter, r *http.Request, rt route, flt *Fault) bool {
	if flt.Delay > 0 {
		t := time.NewTimer(flt.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if flt.Drop {
		if rt.name == RouteUploadAsset {
			f.dropUpload(r, rt, flt.DropAfter)
		}
		hangUp(w)
		return false
	}
	if flt.Status == 0 {
		return true
	}
	if flt.Apply {
		f.serve(httptest.NewRecorder(), r, rt)
	}
	for k, v := range flt.Header {
		w.Header().Set(k, v)
	}
	msg := flt.Message
	if msg == "" {
		msg = http.StatusText(flt.Status)
	}
	writeError(w, flt.Status, msg, flt.DocumentationURL)
	return false
}

func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// dropUpload reads part of an upload's body and leaves a "starter" asset, as GitHub does when an
// upload is cut off.
func (f *Fake) dropUpload(r *http.Request, rt route, after int) {
	if after <= 0 {
		after = int(r.ContentLength / 2)
	}
	buf := make([]byte, after)
	n, _ := io.ReadFull(r.Body, buf)
	name := r.URL.Query().Get("name")
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[rt.releaseID]
	if rel == nil || name == "" || f.assetNamed(rel, name) != nil {
		return
	}
	f.addAsset(rel, name, r.URL.Query().Get("label"), contentType(r), StateStarter, 0, buf[:n])
}

func (f *Fake) authorized(r *http.Request) (ok bool, msg string) {
	if f.token == "" {
		return true, ""
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return false, "Requires authentication"
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) && tok == f.token {
		return true, ""
	}
	return false, "Bad credentials"
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request, rt route) {
	if rt.name == RouteDownload {
		f.download(w, rt)
		return
	}
	if ok, msg := f.authorized(r); !ok {
		writeError(w, http.StatusUnauthorized, msg, "https://docs.github.com/rest")
		return
	}
	if !strings.Contains(rt.name, "{") || !rt.ownRepo {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	switch rt.name {
	case RouteGetReleaseByTag:
		f.getByTag(w, r, rt)
	case RouteListReleases:
		f.listReleases(w, r, rt)
	case RouteCreateRelease:
		f.createRelease(w, r, rt)
	case RouteGetRelease:
		f.getRelease(w, r, rt)
	case RouteUpdateRelease:
		f.updateRelease(w, r, rt)
	case RouteDeleteRelease:
		f.deleteRelease(w, rt)
	case RouteListAssets:
		f.listAssets(w, r, rt)
	case RouteUploadAsset:
		f.upload(w, r, rt)
	case RouteGetAsset:
		f.getAsset(w, r, rt)
	case RouteDeleteAsset:
		f.deleteAsset(w, rt)
	case RouteGetRef:
		f.getRef(w, rt)
	case RouteGetTag:
		f.getTagObject(w, rt)
	}
}

// gitObject is what a git ref or an annotated tag object points at.
type gitObject struct{ typ, sha string }

// gitObject reads what rev names in the WithGitRepository repository with real git: its type
// (commit, tag) and sha; false when there is no repository or no such object.
func (f *Fake) gitObject(rev string) (gitObject, bool) {
	if f.gitDir == "" {
		return gitObject{}, false
	}
	out, err := exec.Command("git", "-C", f.gitDir, "rev-parse", "--verify", "--quiet", rev).Output()
	if err != nil {
		return gitObject{}, false
	}
	sha := strings.TrimSpace(string(out))
	typ, err := exec.Command("git", "-C", f.gitDir, "cat-file", "-t", sha).Output()
	if err != nil {
		return gitObject{}, false
	}
	return gitObject{strings.TrimSpace(string(typ)), sha}, true
}

// SeedTag makes a lightweight git tag name pointing at commit (moving it if it exists).
func (f *Fake) SeedTag(name, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs["tags/"+name] = gitObject{"commit", commit}
}

// SeedAnnotatedTag makes an annotated git tag name: a tag object objectSHA pointing at commit.
func (f *Fake) SeedAnnotatedTag(name, objectSHA, commit string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs["tags/"+name] = gitObject{"tag", objectSHA}
	f.tagObjects[objectSHA] = gitObject{"commit", commit}
}

func (f *Fake) getRef(w http.ResponseWriter, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ref, err := url.PathUnescape(rt.tag)
	o, ok := f.refs[ref]
	if !ok && err == nil {
		o, ok = f.gitObject("refs/" + ref)
	}
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ref": "refs/" + ref, "object": map[string]any{"type": o.typ, "sha": o.sha}})
}

func (f *Fake) getTagObject(w http.ResponseWriter, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.tagObjects[rt.tag]
	if !ok {
		if t, found := f.gitObject(rt.tag); found && t.typ == "tag" {
			o, ok = f.gitObject(rt.tag + "^{}")
		}
	}
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/tags#get-a-tag")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": rt.tag, "object": map[string]any{"type": o.typ, "sha": o.sha}})
}

func (f *Fake) getByTag(w http.ResponseWriter, r *http.Request, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var found *release
	for _, rel := range f.releases {
		if rel.tag == rt.tag && !rel.draft && (found == nil || rel.id < found.id) {
			found = rel
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name")
		return
	}
	writeJSON(w, http.StatusOK, f.releaseJSON(r, rt, found))
}

// authenticated reports whether the caller may see drafts: it sent a token (the right one, which
// serve already checked, when RequireToken is set).
func authenticated(r *http.Request) bool { return r.Header.Get("Authorization") != "" }

func (f *Fake) listReleases(w http.ResponseWriter, r *http.Request, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := make([]*release, 0, len(f.releases))
	for _, rel := range f.releases {
		if rel.draft && !authenticated(r) {
			continue // GitHub lists drafts only to those who may push
		}
		all = append(all, rel)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id > all[j].id }) // newest first
	from, to := f.paginate(w, r, len(all))
	out := make([]map[string]any, 0, to-from)
	for _, rel := range all[from:to] {
		out = append(out, f.releaseJSON(r, rt, rel))
	}
	writeJSON(w, http.StatusOK, out)
}

// paginate reads page/per_page, sets the Link header, and returns the slice bounds.
func (f *Fake) paginate(w http.ResponseWriter, r *http.Request, n int) (from, to int) {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, f.maxPerPage)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max((n+per-1)/per, 1)
	from = min((page-1)*per, n)
	to = min(from+per, n)
	link := func(p int, rel string) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		v := u.Query()
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	return from, to
}

type releaseRequest struct {
	TagName         *string `json:"tag_name"`
	TargetCommitish *string `json:"target_commitish"`
	Name            *string `json:"name"`
	Body            *string `json:"body"`
	Draft           *bool   `json:"draft"`
	Prerelease      *bool   `json:"prerelease"`
	MakeLatest      *string `json:"make_latest"`
}

func (f *Fake) createRelease(w http.ResponseWriter, r *http.Request, rt route) {
	var req releaseRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/releases/releases#create-a-release")
		return
	}
	if req.TagName == nil || *req.TagName == "" {
		writeValidation(w, "Release", "tag_name", "missing_field")
		return
	}
	if req.MakeLatest != nil && !validMakeLatest(*req.MakeLatest) {
		writeValidation(w, "Release", "make_latest", "invalid")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	draft := req.Draft != nil && *req.Draft
	if !draft && f.publishedWithTag(*req.TagName, 0) {
		writeValidation(w, "Release", "tag_name", "already_exists")
		return
	}
	now := time.Now().UTC()
	rel := &release{id: f.newID(), tag: *req.TagName, target: "main", draft: draft, created: now, updated: now}
	setStr(&rel.target, req.TargetCommitish)
	setStr(&rel.name, req.Name)
	setStr(&rel.body, req.Body)
	setStr(&rel.makeLatest, req.MakeLatest)
	if req.Prerelease != nil {
		rel.prerelease = *req.Prerelease
	}
	if !draft {
		rel.publish = now
	}
	f.releases[rel.id] = rel
	body := f.releaseJSON(r, rt, rel)
	w.Header().Set("Location", body["url"].(string))
	writeJSON(w, http.StatusCreated, body)
}

func validMakeLatest(s string) bool { return s == "true" || s == "false" || s == "legacy" }

func setStr(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func (f *Fake) publishedWithTag(tag string, except int64) bool {
	for _, rel := range f.releases {
		if rel.id != except && rel.tag == tag && !rel.draft {
			return true
		}
	}
	return false
}

func (f *Fake) getRelease(w http.ResponseWriter, r *http.Request, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[rt.releaseID]
	if rel == nil || (rel.draft && !authenticated(r)) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/releases#get-a-release")
		return
	}
	writeJSON(w, http.StatusOK, f.releaseJSON(r, rt, rel))
}

func (f *Fake) updateRelease(w http.ResponseWriter, r *http.Request, rt route) {
	var req releaseRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", "https://docs.github.com/rest/releases/releases#update-a-release")
		return
	}
	if req.MakeLatest != nil && !validMakeLatest(*req.MakeLatest) {
		writeValidation(w, "Release", "make_latest", "invalid")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[rt.releaseID]
	if rel == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/releases#update-a-release")
		return
	}
	tag := rel.tag
	setStr(&tag, req.TagName)
	draft := rel.draft
	if req.Draft != nil {
		draft = *req.Draft
	}
	if !draft && f.publishedWithTag(tag, rel.id) {
		writeValidation(w, "Release", "tag_name", "already_exists")
		return
	}
	rel.tag = tag
	setStr(&rel.target, req.TargetCommitish)
	setStr(&rel.name, req.Name)
	setStr(&rel.body, req.Body)
	setStr(&rel.makeLatest, req.MakeLatest)
	if req.Prerelease != nil {
		rel.prerelease = *req.Prerelease
	}
	if rel.draft && !draft {
		rel.publish = time.Now().UTC()
	}
	rel.draft = draft
	rel.updated = time.Now().UTC()
	writeJSON(w, http.StatusOK, f.releaseJSON(r, rt, rel))
}

func (f *Fake) deleteRelease(w http.ResponseWriter, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[rt.releaseID]
	if rel == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/releases#delete-a-release")
		return
	}
	for _, id := range rel.assets {
		delete(f.assets, id)
	}
	delete(f.releases, rel.id)
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) listAssets(w http.ResponseWriter, r *http.Request, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[rt.releaseID]
	if rel == nil || (rel.draft && !authenticated(r)) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/assets#list-release-assets")
		return
	}
	from, to := f.paginate(w, r, len(rel.assets))
	out := make([]map[string]any, 0, to-from)
	for _, id := range rel.assets[from:to] {
		out = append(out, f.assetJSON(r, rt, f.assets[id]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) assetNamed(rel *release, name string) *asset {
	for _, id := range rel.assets {
		if a := f.assets[id]; a.name == name {
			return a
		}
	}
	return nil
}

func contentType(r *http.Request) string {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func (f *Fake) upload(w http.ResponseWriter, r *http.Request, rt route) {
	name := r.URL.Query().Get("name")
	if name == "" {
		writeValidation(w, "ReleaseAsset", "name", "missing_field")
		return
	}
	if r.ContentLength < 0 {
		writeError(w, http.StatusLengthRequired, "Length Required", "https://docs.github.com/rest/releases/assets#upload-a-release-asset")
		return
	}
	content, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away mid-body
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rel := f.releases[rt.releaseID]
	if rel == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/assets#upload-a-release-asset")
		return
	}
	if f.assetNamed(rel, name) != nil {
		writeValidation(w, "ReleaseAsset", "name", "already_exists")
		return
	}
	a := f.addAsset(rel, name, r.URL.Query().Get("label"), contentType(r), StateUploaded, int64(len(content)), content)
	writeJSON(w, http.StatusCreated, f.assetJSON(r, rt, a))
}

func (f *Fake) getAsset(w http.ResponseWriter, r *http.Request, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.assets[rt.assetID]
	if a == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/assets#get-a-release-asset")
		return
	}
	if r.Header.Get("Accept") == "application/octet-stream" {
		w.Header().Set("Location", fmt.Sprintf("http://%s/_fake/downloads/%d?X-Fake-Signature=%d", r.Host, a.id, a.id*7919))
		w.WriteHeader(http.StatusFound)
		return
	}
	writeJSON(w, http.StatusOK, f.assetJSON(r, rt, a))
}

func (f *Fake) deleteAsset(w http.ResponseWriter, rt route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.assets[rt.assetID]
	if a == nil {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/releases/assets#delete-a-release-asset")
		return
	}
	f.removeAsset(a)
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) download(w http.ResponseWriter, rt route) {
	f.mu.Lock()
	a := f.assets[rt.assetID]
	var content []byte
	if a != nil {
		a.downloadCount++
		content = append([]byte(nil), a.content...)
	}
	f.mu.Unlock()
	if a == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	_, _ = w.Write(content)
}

// ---- payloads ----

func (f *Fake) apiBase(r *http.Request, rt route) string {
	if rt.where == atRoot {
		return "http://" + r.Host
	}
	return "http://" + r.Host + "/api/v3"
}

func (f *Fake) uploadBase(r *http.Request, rt route) string {
	if rt.where == atRoot {
		return "http://" + r.Host
	}
	return "http://" + r.Host + "/api/uploads"
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

func (f *Fake) releaseJSON(r *http.Request, rt route, rel *release) map[string]any {
	repoPath := fmt.Sprintf("/repos/%s/%s", f.owner, f.name)
	api := f.apiBase(r, rt) + repoPath
	assets := make([]map[string]any, 0, len(rel.assets))
	for _, id := range rel.assets {
		assets = append(assets, f.assetJSON(r, rt, f.assets[id]))
	}
	html := fmt.Sprintf("http://%s/%s/%s/releases/tag/%s", r.Host, f.owner, f.name, url.PathEscape(rel.tag))
	if rel.draft {
		html = fmt.Sprintf("http://%s/%s/%s/releases/tag/untagged-%d", r.Host, f.owner, f.name, rel.id)
	}
	return map[string]any{
		"url":              fmt.Sprintf("%s/releases/%d", api, rel.id),
		"html_url":         html,
		"assets_url":       fmt.Sprintf("%s/releases/%d/assets", api, rel.id),
		"upload_url":       fmt.Sprintf("%s%s/releases/%d/assets{?name,label}", f.uploadBase(r, rt), repoPath, rel.id),
		"tarball_url":      fmt.Sprintf("%s/tarball/%s", api, url.PathEscape(rel.tag)),
		"zipball_url":      fmt.Sprintf("%s/zipball/%s", api, url.PathEscape(rel.tag)),
		"id":               rel.id,
		"node_id":          fmt.Sprintf("RE_fake%d", rel.id),
		"tag_name":         rel.tag,
		"target_commitish": rel.target,
		"name":             rel.name,
		"body":             rel.body,
		"draft":            rel.draft,
		"prerelease":       rel.prerelease,
		"immutable":        false,
		"created_at":       ts(rel.created),
		"updated_at":       ts(rel.updated),
		"published_at":     ts(rel.publish),
		"author":           map[string]any{"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
		"assets":           assets,
	}
}

func (f *Fake) assetJSON(r *http.Request, rt route, a *asset) map[string]any {
	api := f.apiBase(r, rt) + fmt.Sprintf("/repos/%s/%s", f.owner, f.name)
	var label, digest any
	if a.label != "" {
		label = a.label
	}
	if a.hasDigest {
		digest = a.digest
	}
	tag := ""
	if rel := f.releases[a.release]; rel != nil {
		tag = rel.tag
	}
	return map[string]any{
		"url":                  fmt.Sprintf("%s/releases/assets/%d", api, a.id),
		"browser_download_url": fmt.Sprintf("http://%s/%s/%s/releases/download/%s/%s", r.Host, f.owner, f.name, url.PathEscape(tag), url.PathEscape(a.name)),
		"id":                   a.id,
		"node_id":              fmt.Sprintf("RA_fake%d", a.id),
		"name":                 a.name,
		"label":                label,
		"state":                a.state,
		"content_type":         a.ctype,
		"size":                 a.size,
		"digest":               digest,
		"download_count":       a.downloadCount,
		"created_at":           ts(a.created),
		"updated_at":           ts(a.created),
		"uploader":             map[string]any{"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-GitHub-Media-Type", "github.v3; format=json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, msg, doc string) {
	body := map[string]any{"message": msg, "status": strconv.Itoa(status)}
	if doc != "" {
		body["documentation_url"] = doc
	}
	writeJSON(w, status, body)
}

func writeValidation(w http.ResponseWriter, resource, field, code string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message":           "Validation Failed",
		"errors":            []map[string]string{{"resource": resource, "field": field, "code": code}},
		"documentation_url": "https://docs.github.com/rest/releases",
		"status":            "422",
	})
}
