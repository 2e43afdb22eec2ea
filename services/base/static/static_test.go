package static

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

const secret = "the secret outside the served directory"

// site lays out a served directory beside a secret file, with a symbolic link that points out of
// the directory, dot files, a directory with an index and one without, and returns a server for
// it built the way Run builds it (an os.Root's FS).
func site(t *testing.T) *httptest.Server {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "www")
	for name, body := range map[string]string{
		"index.html":      "<h1>home</h1>",
		"style.css":       "h1 { color: teal }",
		"docs/index.html": "<h1>docs</h1>",
		"assets/logo.txt": "logo",
		".env":            "TOKEN=hidden",
		".git/config":     "[core]",
		"docs/.draft.txt": "draft",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.txt", filepath.Join(dir, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	srv := httptest.NewServer(Handler(root.FS(), svc.Info{Name: "web", Version: "0.1.0"}))
	t.Cleanup(srv.Close)
	return srv
}

// do sends method with the request target sent exactly as rawPath, without following redirects.
func do(t *testing.T, srv *httptest.Server, method, rawPath string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = rawPath
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawPath, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestServesFilesAndIndexes(t *testing.T) {
	srv := site(t)
	for _, tc := range []struct {
		path, body, contentType string
	}{
		{"/", "<h1>home</h1>", "text/html; charset=utf-8"},
		{"/index.html", "<h1>home</h1>", "text/html; charset=utf-8"},
		{"/style.css", "h1 { color: teal }", "text/css; charset=utf-8"},
		{"/docs/", "<h1>docs</h1>", "text/html; charset=utf-8"},
		{"/assets/logo.txt", "logo", "text/plain; charset=utf-8"},
	} {
		resp, body := do(t, srv, http.MethodGet, tc.path)
		if resp.StatusCode != http.StatusOK || body != tc.body || resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("GET %s = %s %q (%s), want 200 %q (%s)", tc.path, resp.Status, body, resp.Header.Get("Content-Type"), tc.body, tc.contentType)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", tc.path, got)
		}
	}
	// A directory without its slash is sent to it, so relative links in its index resolve.
	resp, _ := do(t, srv, http.MethodGet, "/docs?x=1")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/docs/?x=1" {
		t.Errorf("GET /docs = %s to %q, want 301 to /docs/?x=1", resp.Status, resp.Header.Get("Location"))
	}
}

func TestHealthzAndVersion(t *testing.T) {
	srv := site(t)
	resp, body := do(t, srv, http.MethodGet, "/healthz")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("GET /healthz = %s %q", resp.Status, body)
	}
	resp, body = do(t, srv, http.MethodGet, "/version")
	var info svc.Info
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != http.StatusOK || info != (svc.Info{Name: "web", Version: "0.1.0"}) {
		t.Errorf("GET /version = %s %q (%v), want 200 web 0.1.0", resp.Status, body, err)
	}
}

func TestHeadAnswersHeadersWithoutABody(t *testing.T) {
	srv := site(t)
	for _, p := range []string{"/", "/style.css", "/healthz", "/version"} {
		get, getBody := do(t, srv, http.MethodGet, p)
		resp, body := do(t, srv, http.MethodHead, p)
		if resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("HEAD %s = %s with a %d-byte body, want 200 and none", p, resp.Status, len(body))
		}
		if resp.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s: Content-Type %q, GET says %q", p, resp.Header.Get("Content-Type"), get.Header.Get("Content-Type"))
		}
		if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(getBody)) {
			t.Errorf("HEAD %s: Content-Length %s, GET sends %d bytes", p, cl, len(getBody))
		}
	}
	if resp, _ := do(t, srv, http.MethodHead, "/style.css"); resp.Header.Get("Content-Length") != strconv.Itoa(len("h1 { color: teal }")) {
		t.Errorf("HEAD /style.css: Content-Length %q", resp.Header.Get("Content-Length"))
	}
}

func TestOnlyGetAndHead(t *testing.T) {
	srv := site(t)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, p := range []string{"/", "/index.html", "/healthz", "/version", "/nowhere"} {
			resp, body := do(t, srv, method, p)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %s %q, want 405", method, p, resp.Status, body)
				continue
			}
			if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") || strings.Contains(allow, method) {
				t.Errorf("%s %s: Allow %q, want GET and HEAD only", method, p, allow)
			}
		}
	}
}

func TestNoDirectoryListing(t *testing.T) {
	srv := site(t)
	for _, p := range []string{"/assets/", "/assets"} {
		resp, body := do(t, srv, http.MethodGet, p)
		if resp.StatusCode == http.StatusOK || strings.Contains(body, "logo.txt") {
			t.Errorf("GET %s = %s %q: a directory without index.html must not be listed", p, resp.Status, body)
		}
	}
	if resp, _ := do(t, srv, http.MethodGet, "/assets/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /assets/ = %s, want 404", resp.Status)
	}
}

func TestNothingOutsideTheDirectoryNorHidden(t *testing.T) {
	srv := site(t)
	for _, p := range []string{
		"/../secret.txt",
		"/%2e%2e/secret.txt",
		"/..%2fsecret.txt",
		"/docs/../../secret.txt",
		"/docs/%2e%2e/%2e%2e/secret.txt",
		"/..%5csecret.txt",
		"/leak.txt",      // a symbolic link to ../secret.txt
		"/up/secret.txt", // a symbolic link to the parent directory
		"/up/www/index.html",
		"/.env",
		"/.git/config",
		"/docs/.draft.txt",
		"/%2eenv",
		"/secret.txt%00.html",
	} {
		resp, body := do(t, srv, http.MethodGet, p)
		if strings.Contains(body, secret) || strings.Contains(body, "TOKEN") || strings.Contains(body, "[core]") || strings.Contains(body, "draft") {
			t.Errorf("GET %s = %s and leaked %q", p, resp.Status, body)
		}
		// The mux may first redirect a path with ".." to its clean form; that form is inside the
		// directory, where secret.txt does not exist.
		if resp.StatusCode/100 == 3 {
			loc := resp.Header.Get("Location")
			resp, body = do(t, srv, http.MethodGet, loc)
			if strings.Contains(body, secret) {
				t.Errorf("GET %s, redirected to %s, leaked %q", p, loc, body)
			}
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s = %s, want 404 (or 400)", p, resp.Status)
		}
	}
}

func TestFSName(t *testing.T) {
	for in, want := range map[string]string{
		"/":             ".",
		"/a/b.html":     "a/b.html",
		"/a/../b":       "b",
		"/../../etc/pw": "etc/pw",
		"/a//b/":        "a/b",
	} {
		if got, ok := fsName(in); !ok || got != want {
			t.Errorf("fsName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "a", "/.env", "/a/.git/x", "/a\\..\\b", "/a\x00b", "/..."} {
		if got, ok := fsName(in); ok {
			t.Errorf("fsName(%q) = %q, want refused", in, got)
		}
	}
}

func TestParseArgs(t *testing.T) {
	files := map[string]string{"/v": "0.1.0\n", "/v2": "  1.2.3  \nmore\n", "/empty": "\n\n"}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	for _, tc := range []struct {
		args []string
		want Config
	}{
		{[]string{"-name", "web", "-version-file", "/v", "/srv/www"}, Config{Dir: "/srv/www", Info: svc.Info{Name: "web", Version: "0.1.0"}}},
		{[]string{"-version-file", "/v2", "site"}, Config{Dir: "site", Info: svc.Info{Name: "static", Version: "1.2.3"}}},
	} {
		got, err := ParseArgs(tc.args, read)
		if err != nil || got != tc.want {
			t.Errorf("ParseArgs(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"/srv/www"}, "-version-file is required"},
		{[]string{"-version-file", "/v"}, "want one directory to serve, got 0"},
		{[]string{"-version-file", "/v", "a", "b"}, "got 2 arguments"},
		{[]string{"-version-file", "/nope", "a"}, "/nope"},
		{[]string{"-version-file", "/empty", "a"}, "version file /empty: the first line is empty"},
		{[]string{"-port", "1", "a"}, "flag provided but not defined: -port"},
	} {
		_, err := ParseArgs(tc.args, read)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArgs(%q) = %v, want an error saying %q", tc.args, err, tc.want)
		}
	}
	if _, err := ParseArgs([]string{"-version-file", "/nope", "a"}, read); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing version file: %v, want fs.ErrNotExist wrapped", err)
	}
}

// TestRunServesOnPortAndStops runs the mode as the program does: a real directory, PORT from the
// environment, and a clean stop when the context ends.
func TestRunServesOnPortAndStops(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>hi</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cfg := Config{Dir: dir, Info: svc.Info{Name: "web", Version: "0.1.0"}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- cfg.Run(ctx, cfg.Info, svc.MapEnv(map[string]string{"PORT": port}), svc.DiscardLogger())
	}()

	var body []byte
	for i := 0; ; i++ {
		resp, err := http.Get("http://127.0.0.1:" + port + "/")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("the server did not answer on port %s: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if string(body) != "<p>hi</p>" {
		t.Errorf("GET / = %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after its context ended = %v, want nil", err)
	}

	missing := Config{Dir: filepath.Join(dir, "nope")}
	if err := missing.Run(t.Context(), missing.Info, svc.MapEnv(nil), svc.DiscardLogger()); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Run on a missing directory = %v, want an error naming it", err)
	}
}
