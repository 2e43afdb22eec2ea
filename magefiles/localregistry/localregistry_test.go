package localregistry_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
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
	for _, want := range []string{"serving http://" + addr, "received " + ref, "stopped"} {
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
