package registry_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// counts counts events by name, safely from several goroutines.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
}

// total is the sum of the counts, and most the largest.
func (c *counts) total() (total, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.n {
		total += v
		most = max(most, v)
	}
	return total, most
}

// countingSaves is a Docker Engine client that counts `docker save` exports (ImageSave), per
// name asked for.
type countingSaves struct {
	registry.DaemonClient
	counts
}

func (c *countingSaves) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	for _, n := range images {
		c.add(n)
	}
	return c.DaemonClient.ImageSave(ctx, images, opts...)
}

// memo is a registry.LayerMemo in a map, as publish.DigestMemo keeps one in memory.
type memo struct {
	mu sync.Mutex
	m  map[string]string
	sz map[string]int64
}

func newMemo() *memo { return &memo{m: map[string]string{}, sz: map[string]int64{}} }

func (m *memo) CompressedLayer(key string) (string, int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.m[key]
	return d, m.sz[key], ok
}

func (m *memo) PutCompressedLayer(key, digest string, size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key], m.sz[key] = digest, size
}

func (m *memo) ForgetCompressedLayer(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	delete(m.sz, key)
}

// twoLayerImages builds base (two layers) and app FROM base (one more) in the daemon.
func twoLayerImages(t *testing.T, dc *client.Client) (base, app string) {
	id := fmt.Sprint(time.Now().UnixNano())
	base = "shiplane-registrytest/memo-base:" + id
	app = "shiplane-registrytest/memo-app:" + id
	noise := make([]byte, 64<<10)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	build(t, dc, base, "FROM scratch\nCOPY a.txt /a.txt\nCOPY a.txt /b.txt\n", "a.txt", hex.EncodeToString(noise))
	build(t, dc, app, "FROM "+base+"\nCOPY app.txt /app.txt\n", "app.txt", "app "+id+"\n")
	return base, app
}

// TestLayerMemo: a Daemon exports each image once and compresses each layer once, to the digest
// go-containerregistry's own daemon reader gives; a memo that knows the layers makes the manifest
// digest without compressing anything, and a registry that holds them has nothing compressed for
// it; a wrong memo entry fails the upload before the manifest is put, and is forgotten.
func TestLayerMemo(t *testing.T) {
	ctx := t.Context()
	dc := dockerClient(t)
	base, app := twoLayerImages(t, dc)

	// What go-containerregistry's daemon reader makes of them (the digests pushed before).
	want := map[string]v1.Hash{}
	for _, ref := range []string{base, app} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := daemon.Image(r, daemon.WithContext(ctx), daemon.WithClient(dc))
		if err != nil {
			t.Fatal(err)
		}
		if want[ref], err = img.Digest(); err != nil {
			t.Fatal(err)
		}
	}

	m := newMemo()
	t.Run("miss", func(t *testing.T) {
		saves, gz := &countingSaves{DaemonClient: dc}, &counts{}
		d := registry.NewDaemon(saves, registry.WithLayerMemo(m), registry.OnCompress(gz.add))
		defer d.Close()
		for range 2 { // asked twice, as Assess and Achieve do
			for _, ref := range []string{base, app} {
				img, err := d.LocalImage(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				got, err := img.Digest()
				if err != nil || got != want[ref] {
					t.Fatalf("%s: digest %s (%v), want %s as go-containerregistry's daemon reader gives", ref, got, err, want[ref])
				}
			}
		}
		// app holds base's two layers and its own: three distinct layers, each compressed once.
		if n, most := gz.total(); n != 3 || most != 1 {
			t.Errorf("compressions: %v, want each of the 3 layers once", gz.n)
		}
		if n, most := saves.total(); n != 2 || most != 1 {
			t.Errorf("exports: %v, want one per image", saves.n)
		}
		// The push uploads the bytes compressed for the digest: nothing is compressed again.
		reg := registrytest.New(t)
		for tag, ref := range map[string]string{"memo:base": base, "memo:app": app} {
			if _, err := newClient().PushLocal(ctx, d, ref, []string{reg.Ref(tag)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := gz.total(); n != 3 {
			t.Errorf("after pushing: compressions %v; want nothing more", gz.n)
		}
		if n, _ := saves.total(); n != 2 {
			t.Errorf("after pushing: exports %v; want nothing more", saves.n)
		}
	})

	t.Run("hit", func(t *testing.T) {
		saves, gz := &countingSaves{DaemonClient: dc}, &counts{}
		d := registry.NewDaemon(saves, registry.WithLayerMemo(m), registry.OnCompress(gz.add))
		defer d.Close()
		img, err := d.LocalImage(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := img.Digest(); err != nil || got != want[app] {
			t.Fatalf("digest from the memo: %s (%v), want %s", got, err, want[app])
		}
		if n, _ := gz.total(); n != 0 {
			t.Errorf("%d compressions with every layer in the memo, want 0", n)
		}
		// A registry holding base's layers: only app's own layer is compressed, for its upload.
		reg := registrytest.New(t)
		if _, err := newClient().PushLocal(ctx, registry.NewDaemon(dc), base, []string{reg.Ref("base:1")}); err != nil {
			t.Fatal(err)
		}
		if _, err := newClient().PushLocal(ctx, d, app, []string{reg.Ref("base:app")}); err != nil {
			t.Fatal(err)
		}
		n, _ := gz.total()
		exports, _ := saves.total()
		if n != 1 || exports != 1 {
			t.Errorf("pushing app next to base: compressions %v, exports %v; want app's own layer once, one export", gz.n, saves.n)
		}
	})

	t.Run("wrong entry", func(t *testing.T) {
		img, err := registry.NewDaemon(dc).LocalImage(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		diffID, err := ls[0].DiffID()
		if err != nil {
			t.Fatal(err)
		}
		key := registry.LayerMemoKey(diffID.String())
		bad := newMemo()
		bad.PutCompressedLayer(key, "sha256:"+hex.EncodeToString(make([]byte, 32)), 1234)

		var puts atomic.Int32
		reg := registrytest.New(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
					puts.Add(1)
				}
				next.ServeHTTP(w, r)
			})
		}))
		d := registry.NewDaemon(dc, registry.WithLayerMemo(bad))
		defer d.Close()
		_, err = newClient().PushLocal(ctx, d, base, []string{reg.Ref("wrong:1")})
		var me *registry.LayerMemoError
		if !errors.As(err, &me) || me.DiffID != diffID.String() {
			t.Fatalf("push with a wrong memo entry: %v, want *LayerMemoError for %s", err, diffID)
		}
		t.Logf("wrong memo entry: %v", err)
		if n := puts.Load(); n != 0 {
			t.Errorf("%d manifest PUTs: a manifest naming a blob that was never uploaded was pushed", n)
		}
		if _, _, ok := bad.CompressedLayer(key); ok {
			t.Error("the wrong entry was kept")
		}
		// The next run computes it again and pushes.
		d2 := registry.NewDaemon(dc, registry.WithLayerMemo(bad))
		defer d2.Close()
		p, err := newClient().PushLocal(ctx, d2, base, []string{reg.Ref("wrong:1")})
		if err != nil || p.Digest != want[base].String() {
			t.Fatalf("the run after: %+v, %v; want %s pushed", p, err, want[base])
		}
	})
}
