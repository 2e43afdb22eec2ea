package registrytest_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

func TestPushAndLog(t *testing.T) {
	reg := registrytest.New(t)
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Ref("demo/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	if n := reg.Count(http.MethodPut, "/manifests/1"); n != 1 {
		t.Fatalf("manifest PUTs = %d, want 1\n%s", n, reg.Dump())
	}
	if reg.BytesIn("/blobs/uploads/") < 2048 {
		t.Fatalf("blob bytes in = %d, want >= 2048\n%s", reg.BytesIn("/blobs/uploads/"), reg.Dump())
	}
	got, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got.Digest != want {
		t.Fatalf("digest %s, want %s", got.Digest, want)
	}
	reg.Reset()
	if len(reg.Requests()) != 0 {
		t.Fatal("Reset left requests")
	}
}

func TestBasicAuth(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithBasicAuth("u", "p"))
	resp, err := http.Get(reg.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("got %d %q, want 401 with a challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest(http.MethodGet, reg.URL()+"/v2/", nil)
	req.SetBasicAuth("u", "p")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with credentials: %d", resp.StatusCode)
	}
}

func TestFailFirst(t *testing.T) {
	reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst(http.MethodGet, "/v2/", 2, http.StatusServiceUnavailable)))
	for i, want := range []int{503, 503, 200} {
		resp, err := http.Get(reg.URL() + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	if n := reg.Count(http.MethodGet, "/v2/"); n != 3 {
		t.Fatalf("logged %d, want 3", n)
	}
}

func TestHook(t *testing.T) {
	var reg *registrytest.Registry
	var ref name.Reference
	var returned atomic.Bool // the client has its answer to the manifest PUT
	var before, after atomic.Int64
	present := func() bool {
		_, err := remote.Head(ref)
		return err == nil
	}
	reg = registrytest.New(t,
		registrytest.WithMiddleware(registrytest.Hook(registrytest.Before, http.MethodPut, "/manifests/1", func() {
			before.Add(1)
			if present() {
				t.Error("Before: the registry already holds the manifest")
			}
		})),
		registrytest.WithMiddleware(registrytest.Hook(registrytest.After, http.MethodPut, "/manifests/1", func() {
			after.Add(1)
			if !present() || returned.Load() {
				t.Errorf("After: the registry should hold the manifest (%v), and the client wait for its answer (%v)", present(), !returned.Load())
			}
		})))
	var err error
	if ref, err = name.ParseReference(reg.Ref("demo/app:1")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		img, err := random.Image(100, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		returned.Store(true)
	}
	if before.Load() != 1 || after.Load() != 1 {
		t.Errorf("hooks ran %d and %d times, want once each", before.Load(), after.Load())
	}
}
