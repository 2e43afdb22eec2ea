package localregistry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/shiplane/shiplane/magefiles/localregistry"
	"github.com/shiplane/shiplane/magefiles/registry"
)

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts Serve and waits until it answers; stop cancels it and returns Serve's error.
func serve(t *testing.T, addr, dir string, progress *safeBuffer) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- localregistry.Serve(ctx, addr, dir, progress) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("Serve returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("registry on %s never answered: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() error {
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return after cancel")
		}
	}
}

func TestServeKeepsImagesAcrossRestarts(t *testing.T) {
	ctx := t.Context()
	addr, dir := freeAddr(t), t.TempDir()
	var progress safeBuffer
	c := registry.New(registry.WithKeychain(authn.NewMultiKeychain()))

	stop := serve(t, addr, dir, &progress)
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := addr + "/dev/core:1.0.0"
	p, err := c.Push(ctx, img, []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}

	stop = serve(t, addr, dir, &progress)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	got, err := registry.New(registry.WithKeychain(authn.NewMultiKeychain())).Image(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Present || got.Digest != p.Digest {
		t.Fatalf("after restart: %+v, want %s", got, p.Digest)
	}
	out := progress.String()
	for _, want := range []string{"ready on " + addr, "received " + ref, "stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
}

func TestServeOnATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = localregistry.Serve(t.Context(), l.Addr().String(), t.TempDir(), nil)
	var inUse *localregistry.AddrInUseError
	if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "something already listens on "+l.Addr().String()) {
		t.Fatalf("err = %v, want *AddrInUseError", err)
	}
}

// getCatalog GETs url and returns the repositories listed and the Link header.
func getCatalog(t *testing.T, url string) (repos []string, link string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s", url, resp.Status)
	}
	var body struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: decoding: %v", url, err)
	}
	return body.Repositories, resp.Header.Get("Link")
}

func TestServeCatalogListsPushedRepositories(t *testing.T) {
	ctx := t.Context()
	addr, dir := freeAddr(t), t.TempDir()
	var progress safeBuffer
	stop := serve(t, addr, dir, &progress)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	c := registry.New(registry.WithKeychain(authn.NewMultiKeychain()))
	for _, repo := range []string{"dev/core", "dev/base"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Push(ctx, img, []string{addr + "/" + repo + ":1.0.0"}); err != nil {
			t.Fatalf("pushing %s: %v", repo, err)
		}
	}

	base := "http://" + addr + "/v2/_catalog"
	all, link := getCatalog(t, base)
	if want := []string{"dev/base", "dev/core"}; !slices.Equal(all, want) || link != "" {
		t.Fatalf("catalog = %v, Link %q; want %v and no Link", all, link, want)
	}

	// One per page: the first page links to the next, which starts after the first's last entry.
	page1, link := getCatalog(t, base+"?n=1")
	if want := `</v2/_catalog?last=dev%2Fbase&n=1>; rel="next"`; !slices.Equal(page1, []string{"dev/base"}) || link != want {
		t.Fatalf("catalog?n=1 = %v, Link %q; want [dev/base], Link %q", page1, link, want)
	}
	next := strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
	page2, _ := getCatalog(t, "http://"+addr+next)
	if !slices.Equal(page2, []string{"dev/core"}) {
		t.Fatalf("catalog page 2 (%s) = %v, want [dev/core]", next, page2)
	}
	page3, link := getCatalog(t, base+"?n=1&last=dev/core")
	if len(page3) != 0 || link != "" {
		t.Fatalf("catalog after the last entry = %v, Link %q; want nothing", page3, link)
	}

	// More than CatalogMaxEntries in one page is refused, as distribution does.
	resp, err := http.Get(base + "?n=" + strconv.Itoa(localregistry.CatalogMaxEntries+1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("catalog with n above the maximum = %s, want 400", resp.Status)
	}
}

// dialOnReady is a progress writer that, when the ready line is written, checks at that moment
// that the address accepts a connection.
type dialOnReady struct {
	safeBuffer
	addr string

	mu          sync.Mutex
	ready       int
	dialedReady []error
}

func (d *dialOnReady) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("local registry ready on ")) {
		c, err := net.DialTimeout("tcp", d.addr, time.Second)
		if err == nil {
			c.Close()
		}
		d.mu.Lock()
		d.ready++
		d.dialedReady = append(d.dialedReady, err)
		d.mu.Unlock()
	}
	return d.safeBuffer.Write(p)
}

func TestServeSaysReadyOnceWhenItAcceptsConnections(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	progress := &dialOnReady{addr: addr}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- localregistry.Serve(ctx, addr, dir, progress) }()

	// Before the line: nothing listens yet, or the line has been written.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(progress.String(), "ready on") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no ready line after 10s; progress:\n%s", progress.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatalf("GET /v2/ after the ready line: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ after the ready line = %s", resp.Status)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}

	progress.mu.Lock()
	defer progress.mu.Unlock()
	if progress.ready != 1 {
		t.Errorf("ready line written %d times, want once:\n%s", progress.ready, progress.String())
	}
	for _, err := range progress.dialedReady {
		if err != nil {
			t.Errorf("the port refused a connection when the ready line was written: %v", err)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "local registry ready on " + addr + " (storage: " + abs + "); Ctrl-C stops it\n"
	if first, _, _ := strings.Cut(progress.String(), "\n"); first+"\n" != want {
		t.Errorf("first progress line = %q, want %q", first, want)
	}
}
