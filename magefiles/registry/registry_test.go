package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/httpretry"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

var _ registry.Local = registrytest.LocalImages(nil)

// fast is a retry policy for tests: 5 attempts, millisecond waits.
var fast = registry.RetryPolicy{Attempts: 5, Initial: time.Millisecond, Max: 20 * time.Millisecond}

func newClient(opts ...registry.Option) *registry.Client {
	base := []registry.Option{
		registry.WithRetry(fast),
		registry.WithKeychain(authn.NewMultiKeychain()), // anonymous: never the developer's config
		registry.WithAttemptTimeout(2 * time.Second),
	}
	return registry.New(append(base, opts...)...)
}

// labelled returns a random image (layers of size bytes) carrying labels.
func labelled(t testing.TB, base v1.Image, size int64, layers int, labels map[string]string) v1.Image {
	t.Helper()
	img := base
	if img == nil {
		img = empty.Image
	}
	for range layers {
		l, err := random.Layer(size, "application/vnd.docker.image.rootfs.diff.tar.gzip")
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	cfg.Labels = labels
	img, err = mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestPushThenRead(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	var progress bytes.Buffer
	c := newClient(registry.WithProgress(&progress))
	img := labelled(t, nil, 2048, 2, map[string]string{identity.LabelInputs: "key-1", identity.LabelVersion: "1.0.0"})
	tags := []string{reg.Ref("team/core:1.0.0"), reg.Ref("team/core:latest")}

	p, err := c.PushLocal(ctx, registrytest.LocalImages{"shiplane/core:1.0.0": img}, "shiplane/core:1.0.0", tags)
	if err != nil {
		t.Fatal(err)
	}
	want := digestOf(t, img)
	if p.Digest != want || len(p.Written) != 2 || len(p.Existing) != 0 {
		t.Fatalf("pushed %+v, want digest %s and 2 tags written", p, want)
	}
	if p.BlobsUploaded != 3 { // two layers and the config
		t.Errorf("blobs uploaded = %d, want 3", p.BlobsUploaded)
	}
	if n := reg.Count(http.MethodPut, "/manifests/"); n != 2 {
		t.Errorf("manifest PUTs = %d, want 2\n%s", n, reg.Dump())
	}

	// Through the registry API, with a plain client.
	for _, tag := range tags {
		r, err := name.ParseReference(tag)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(r)
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest.String() != want {
			t.Errorf("%s: registry says %s, want %s", tag, desc.Digest, want)
		}
	}

	d, ok, err := c.Digest(ctx, tags[0])
	if err != nil || !ok || d != want {
		t.Errorf("Digest = %q, %v, %v; want %s, true", d, ok, err, want)
	}
	got, err := c.Image(ctx, tags[1])
	if err != nil {
		t.Fatal(err)
	}
	if !got.Present || got.Digest != want || got.Inputs != "key-1" || got.Labels[identity.LabelVersion] != "1.0.0" {
		t.Errorf("Image = %+v", got)
	}

	out := progress.String()
	if n := strings.Count(out, "uploaded blob"); n != 3 {
		t.Errorf("progress has %d 'uploaded blob' lines, want 3:\n%s", n, out)
	}
	if n := strings.Count(out, "pushed manifest"); n != 2 {
		t.Errorf("progress has %d 'pushed manifest' lines, want 2:\n%s", n, out)
	}
}

func TestAbsentTagIsAbsent(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	c := newClient()
	// Unknown repository (NAME_UNKNOWN) and unknown tag in a known repository (MANIFEST_UNKNOWN).
	if _, err := c.Push(ctx, labelled(t, nil, 10, 1, nil), []string{reg.Ref("known:1")}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{reg.Ref("nothing/here:1.0.0"), reg.Ref("known:2")} {
		got, err := c.Image(ctx, ref)
		if err != nil || got.Present {
			t.Errorf("Image(%s) = %+v, %v; want absent", ref, got, err)
		}
		_, ok, err := c.Digest(ctx, ref)
		if err != nil || ok {
			t.Errorf("Digest(%s) = %v, %v; want absent", ref, ok, err)
		}
	}
}

func TestSecondPushWritesNothing(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	img := labelled(t, nil, 4096, 2, nil)
	tags := []string{reg.Ref("core:1.0.0"), reg.Ref("core:latest"), reg.Ref("mirror:1.0.0")}
	if _, err := newClient().Push(ctx, img, tags); err != nil {
		t.Fatal(err)
	}
	reg.Reset()

	c := newClient() // a new process: nothing remembered
	p, err := c.Push(ctx, img, tags)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Written) != 0 || len(p.Existing) != 3 {
		t.Errorf("second push: %+v, want 3 existing and nothing written", p)
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("second push made %d writes:\n%s", w, reg.Dump())
	}
	if n := reg.Count(http.MethodHead, "/manifests/"); n != len(tags) {
		t.Errorf("manifest HEADs = %d, want %d", n, len(tags))
	}
	if n := reg.Count("", "/blobs/"); n != 0 {
		t.Errorf("blob requests = %d, want 0:\n%s", n, reg.Dump())
	}
	if n := len(reg.Requests()) - reg.Count(http.MethodHead, "/manifests/"); n > 2 {
		t.Errorf("%d requests besides the manifest HEADs (want only the /v2/ pings, one per repository):\n%s", n, reg.Dump())
	}
}

// blobPuts returns how many blob uploads of digest completed, and mounts of it.
func blobPuts(reg *registrytest.Registry, digest string) (uploads, mounts int) {
	for _, q := range reg.Requests() {
		v, _ := url.ParseQuery(q.Query)
		if q.Method == http.MethodPut && strings.Contains(q.Path, "/blobs/uploads/") && v.Get("digest") == digest && q.Status == http.StatusCreated {
			uploads++
		}
		if q.Method == http.MethodPost && v.Get("mount") == digest && q.Status == http.StatusCreated {
			mounts++
		}
	}
	return
}

func TestSharedBaseLayerUploadedOnce(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	base := labelled(t, nil, 256<<10, 1, map[string]string{identity.LabelComponent: "base"})
	core := labelled(t, base, 1024, 1, map[string]string{identity.LabelComponent: "core"})
	ls, err := base.Layers()
	if err != nil {
		t.Fatal(err)
	}
	baseLayer, _ := ls[0].Digest()

	c := newClient()
	if _, err := c.Push(ctx, base, []string{reg.Ref("base:1.0.0")}); err != nil {
		t.Fatal(err)
	}
	p, err := c.Push(ctx, core, []string{reg.Ref("core:1.0.0"), reg.Ref("connector:1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	up, mounts := blobPuts(reg, baseLayer.String())
	if up != 1 || mounts != 2 {
		t.Errorf("base layer: %d uploads, %d mounts; want 1 upload, 2 mounts\n%s", up, mounts, reg.Dump())
	}
	if p.BlobsMounted < 2 {
		t.Errorf("core push: %+v, want the base layer mounted into both repositories", p)
	}
	if got := reg.BytesIn("/blobs/uploads/"); got > 256<<10*105/100+8<<10 {
		t.Errorf("%d blob bytes uploaded, want about one base layer (%d)", got, 256<<10)
	}

	// Another process pushing an image FROM base: told where base lives, it mounts too.
	reg.Reset()
	other := labelled(t, base, 1024, 1, map[string]string{identity.LabelComponent: "scanner"})
	p, err = newClient().Push(ctx, other, []string{reg.Ref("scanner:1.0.0")}, registry.MountFrom(reg.Ref("base:1.0.0")))
	if err != nil {
		t.Fatal(err)
	}
	if up, mounts := blobPuts(reg, baseLayer.String()); up != 0 || mounts != 1 {
		t.Errorf("scanner push: base layer %d uploads, %d mounts; want 0, 1\n%s", up, mounts, reg.Dump())
	}
	got, err := newClient().Image(ctx, reg.Ref("scanner:1.0.0"))
	if err != nil || got.Digest != digestOf(t, other) {
		t.Errorf("scanner: %+v, %v", got, err)
	}
}

func TestRefusesToMoveATag(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	c := newClient()
	first := labelled(t, nil, 100, 1, nil)
	second := labelled(t, nil, 100, 1, nil)
	if _, err := c.Push(ctx, first, []string{reg.Ref("core:1.0.0")}); err != nil {
		t.Fatal(err)
	}
	reg.Reset()
	_, err := c.Push(ctx, second, []string{reg.Ref("core:2.0.0"), reg.Ref("core:1.0.0")})
	var te *registry.TagExistsError
	if !errors.As(err, &te) || te.Digest != digestOf(t, first) || te.Want != digestOf(t, second) {
		t.Fatalf("err = %v, want *TagExistsError", err)
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("refused push still wrote:\n%s", reg.Dump())
	}
	if _, err := c.Push(ctx, second, []string{reg.Ref("core:1.0.0")}, registry.AllowOverwrite()); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := c.Digest(ctx, reg.Ref("core:1.0.0")); d != digestOf(t, second) {
		t.Errorf("after AllowOverwrite the tag holds %s", d)
	}
}

// downHost returns a loopback host:port nothing listens on.
func downHost(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := l.Addr().String()
	l.Close()
	return h
}

func TestRegistryDown(t *testing.T) {
	ctx := t.Context()
	host := downHost(t)
	var progress bytes.Buffer
	c := newClient(registry.WithProgress(&progress))
	p, err := c.Push(ctx, labelled(t, nil, 10, 1, nil), []string{host + "/core:1.0.0"})
	var ue *registry.UnreachableError
	if !errors.As(err, &ue) || ue.Registry != host {
		t.Fatalf("err = %v, want *UnreachableError for %s", err, host)
	}
	t.Logf("push to a down registry: %v", err)
	if !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("message %q should name %s and say it is unreachable", err, host)
	}
	if len(p.Written) != 0 || strings.Contains(progress.String(), "pushed") {
		t.Errorf("nothing should be reported pushed: %+v, progress %q", p, progress.String())
	}

	_, err = c.Image(ctx, host+"/core:1.0.0")
	if !errors.Is(err, published.ErrUnknown) || !errors.As(err, &ue) {
		t.Errorf("Image on a down registry: %v, want unknown and unreachable", err)
	}

	msg := (&registry.UnreachableError{Registry: "localhost:5000", Err: errors.New("connection refused")}).Error()
	if !strings.Contains(msg, "go run mage.go localRegistry") {
		t.Errorf("localhost:5000 message lacks the localRegistry hint: %s", msg)
	}
}

// keychain answers one username and password for every registry.
type keychain struct{ user, pass string }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

func TestAuth(t *testing.T) {
	ctx := t.Context()
	const secret = "s3cret-pa55word-never-printed"
	reg := registrytest.New(t, registrytest.WithBasicAuth("ci", secret))
	img := labelled(t, nil, 10, 1, nil)
	ref := reg.Ref("core:1.0.0")

	for _, kc := range []authn.Keychain{authn.NewMultiKeychain(), keychain{"ci", "wrong-" + secret}} {
		_, err := newClient(registry.WithKeychain(kc)).Push(ctx, img, []string{ref})
		var ae *registry.AuthError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Registry != reg.Host() {
			t.Fatalf("err = %v, want *AuthError 401 for %s", err, reg.Host())
		}
		t.Logf("push without valid credentials: %v", err)
		if !strings.Contains(err.Error(), "docker login "+reg.Host()) {
			t.Errorf("message lacks `docker login %s`: %s", reg.Host(), err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("message shows the password: %s", err)
		}
		_, err = newClient(registry.WithKeychain(kc)).Image(ctx, ref)
		if !errors.Is(err, published.ErrUnknown) || !errors.As(err, &ae) {
			t.Errorf("Image without credentials: %v, want unknown + *AuthError", err)
		}
	}

	c := newClient(registry.WithKeychain(keychain{"ci", secret}))
	if _, err := c.Push(ctx, img, []string{ref}); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	if got, err := c.Image(ctx, ref); err != nil || !got.Present {
		t.Errorf("with credentials: %+v, %v", got, err)
	}
}

func TestForbiddenIsNotRetried(t *testing.T) {
	ctx := t.Context()
	const secret = "another-secret-value"
	reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst("", "/manifests/", -1, http.StatusForbidden)))
	c := newClient(registry.WithKeychain(keychain{"ci", secret}))
	_, _, err := c.Digest(ctx, reg.Ref("core:1.0.0"))
	var ae *registry.AuthError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("err = %v, want unknown + *AuthError 403", err)
	}
	if !strings.Contains(err.Error(), "docker login "+reg.Host()) || strings.Contains(err.Error(), secret) {
		t.Errorf("message: %s", err)
	}
	if n := reg.Count(http.MethodHead, "/manifests/"); n != 1 {
		t.Errorf("403 was asked %d times, want once:\n%s", n, reg.Dump())
	}
	_, err = c.Push(ctx, labelled(t, nil, 10, 1, nil), []string{reg.Ref("core:1.0.0")})
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Errorf("push: %v, want *AuthError 403", err)
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("forbidden push wrote:\n%s", reg.Dump())
	}
}

func TestTransient503ThenSuccess(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst(http.MethodHead, "/manifests/", 2, http.StatusServiceUnavailable)))
	c := newClient()
	img := labelled(t, nil, 100, 1, nil)
	p, err := c.Push(ctx, img, []string{reg.Ref("core:1.0.0")})
	if err != nil || len(p.Written) != 1 {
		t.Fatalf("push: %+v, %v", p, err)
	}
	if n := reg.Count(http.MethodHead, "/manifests/"); n < 3 {
		t.Errorf("manifest HEADs = %d, want the two 503s and then more", n)
	}
	if d, ok, err := c.Digest(ctx, reg.Ref("core:1.0.0")); err != nil || !ok || d != digestOf(t, img) {
		t.Errorf("Digest: %s %v %v", d, ok, err)
	}
}

func TestBadRequestIsNotRetried(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst(http.MethodHead, "/manifests/", -1, http.StatusBadRequest)))
	_, ok, err := newClient().Digest(ctx, reg.Ref("core:1.0.0"))
	if ok || !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("Digest = %v, %v; want unknown", ok, err)
	}
	if n := reg.Count(http.MethodHead, "/manifests/"); n != 1 {
		t.Errorf("400 asked %d times, want once:\n%s", n, reg.Dump())
	}
}

func TestServerErrorsExhaustRetriesAsUnknown(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst("", "/manifests/", -1, http.StatusInternalServerError)))
	c := newClient()
	_, ok, err := c.Digest(ctx, reg.Ref("core:1.0.0"))
	var ue *published.UnknownError
	if ok || !errors.As(err, &ue) || !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("Digest = %v, %v; want *published.UnknownError", ok, err)
	}
	t.Logf("HEAD answering 500: %v", err)
	if n := reg.Count(http.MethodHead, "/manifests/"); n != fast.Attempts {
		t.Errorf("HEAD asked %d times, want %d", n, fast.Attempts)
	}
	got, err := c.Image(ctx, reg.Ref("core:1.0.0"))
	if got.Present || !errors.Is(err, published.ErrUnknown) {
		t.Errorf("Image = %+v, %v; want unknown", got, err)
	}
	// A push cannot tell either: it writes nothing.
	reg.Reset()
	if _, err := c.Push(ctx, labelled(t, nil, 10, 1, nil), []string{reg.Ref("core:1.0.0")}); err == nil {
		t.Error("push succeeded against a failing registry")
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("push wrote:\n%s", reg.Dump())
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	ctx := t.Context()
	var heads atomic.Int64
	var first, second atomic.Int64 // when the first and second HEAD came, in ns
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				switch heads.Add(1) {
				case 1:
					first.Store(time.Now().UnixNano())
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				case 2:
					second.Store(time.Now().UnixNano())
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	c := newClient(registry.WithRetry(registry.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Second}))
	if _, _, err := c.Digest(ctx, reg.Ref("core:1.0.0")); err != nil {
		t.Fatal(err)
	}
	if n := heads.Load(); n != 2 {
		t.Fatalf("HEADs = %d, want the limited one and one more", n)
	}
	if d := time.Duration(second.Load() - first.Load()); d < 900*time.Millisecond {
		t.Errorf("asked again after %s, before the 1 s Retry-After", d)
	}
}

// TestRetryAfterLongerThanMaxFailsAtOnce: a wait longer than the policy's Max is neither slept
// through nor cut short: one request, and an error that names the wait.
func TestRetryAfterLongerThanMaxFailsAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // fail rather than hang
	defer cancel()
	var heads atomic.Int64
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				heads.Add(1)
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	_, ok, err := newClient(registry.WithRetry(registry.RetryPolicy{Attempts: 5, Initial: time.Millisecond, Max: 2 * time.Second})).
		Digest(ctx, reg.Ref("core:1.0.0"))
	var tl *httpretry.RetryAfterTooLongError
	if ok || !errors.As(err, &tl) || !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("Digest = %v, %v; want unknown, *httpretry.RetryAfterTooLongError", ok, err)
	}
	if n := heads.Load(); n != 1 {
		t.Fatalf("HEADs = %d, want exactly 1", n)
	}
	if tl.Wait != 2*time.Minute || !strings.Contains(err.Error(), "asks to wait 2m0s") {
		t.Fatalf("error %v does not name the wait", err)
	}
}

func TestTruncatedHungAndResetAnswersAreRetried(t *testing.T) {
	ctx := t.Context()
	var armed atomic.Bool
	var gets, heads, pings atomic.Int64
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !armed.Load() {
				next.ServeHTTP(w, r)
				return
			}
			switch {
			case r.URL.Path == "/v2/" && pings.Add(1) == 1: // reset the connection of the first ping
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					if tc, ok := conn.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
					conn.Close()
					return
				}
			case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet && gets.Add(1) == 1:
				// promise 4 KiB, send 10 bytes, hang up
				w.Header().Set("Content-Length", "4096")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"schemaVe`))
				return
			case strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead && heads.Add(1) == 1:
				time.Sleep(500 * time.Millisecond) // answer too late
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	img := labelled(t, nil, 100, 1, map[string]string{identity.LabelInputs: "k"})
	if _, err := newClient().Push(ctx, img, []string{reg.Ref("core:1.0.0")}); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)

	c := newClient(registry.WithAttemptTimeout(200 * time.Millisecond))
	got, err := c.Image(ctx, reg.Ref("core:1.0.0"))
	if err != nil || got.Inputs != "k" {
		t.Fatalf("Image after a reset and a truncated answer: %+v, %v", got, err)
	}
	if n := gets.Load(); n != 2 {
		t.Errorf("manifest GETs = %d, want 2", n)
	}
	if n := pings.Load(); n < 2 {
		t.Errorf("pings = %d, want the reset one and a retry", n)
	}
	if d, ok, err := c.Digest(ctx, reg.Ref("core:1.0.0")); err != nil || !ok || d != digestOf(t, img) {
		t.Errorf("Digest after a hung answer: %s %v %v", d, ok, err)
	}
	if n := heads.Load(); n != 2 {
		t.Errorf("manifest HEADs = %d, want 2", n)
	}
}

func TestTimeoutIsUnknown(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	_, ok, err := newClient().Digest(ctx, reg.Ref("core:1.0.0"))
	if ok || !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("Digest = %v, %v; want unknown", ok, err)
	}
}

func TestPlainHTTPOnlyWhereAllowed(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t)
	c := newClient(registry.WithInsecure(func(string) bool { return false }))
	_, _, err := c.Digest(ctx, reg.Ref("core:1.0.0"))
	var ie *registry.InsecureError
	if !errors.As(err, &ie) || !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("err = %v, want *InsecureError", err)
	}
	t.Logf("plain HTTP refused: %v", err)
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("%d plain-HTTP requests reached the registry", n)
	}
}

func TestCredentialsNeverInErrors(t *testing.T) {
	ctx := t.Context()
	const secret = "tok3n-s3cret"
	var tokenURL string
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`)
				return
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="registrytest"`, tokenURL))
			w.WriteHeader(http.StatusUnauthorized)
		})
	}
	reg := registrytest.New(t, registrytest.WithMiddleware(mw))
	tokenURL = "http://robot:" + secret + "@" + reg.Host() + "/token?access_token=" + secret
	_, _, err := newClient(registry.WithKeychain(keychain{"robot", secret})).Digest(ctx, reg.Ref("core:1.0.0"))
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("token endpoint refusing: %v", err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows a credential: %s", err)
	}
	var ae *registry.AuthError
	if !errors.As(err, &ae) {
		t.Errorf("err = %v, want *AuthError", err)
	}
}

func TestUploadFailuresAreRetried(t *testing.T) {
	ctx := t.Context()
	reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst(http.MethodPatch, "/blobs/uploads/", 1, http.StatusServiceUnavailable)),
		registrytest.WithMiddleware(registrytest.FailFirst(http.MethodPut, "/manifests/", 1, http.StatusBadGateway)))
	img := labelled(t, nil, 64<<10, 1, nil)
	c := newClient(registry.WithJobs(1))
	if _, err := c.Push(ctx, img, []string{reg.Ref("core:1.0.0")}); err != nil {
		t.Fatalf("push: %v\n%s", err, reg.Dump())
	}
	if d, ok, err := c.Digest(ctx, reg.Ref("core:1.0.0")); err != nil || !ok || d != digestOf(t, img) {
		t.Errorf("Digest: %s %v %v", d, ok, err)
	}
	if n := reg.Count(http.MethodPut, "/manifests/"); n != 2 {
		t.Errorf("manifest PUTs = %d, want the failed one and its retry", n)
	}
}

func TestWriteRefusalsAreNotRetried(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPut, "/manifests/", http.StatusNotFound},
		{http.MethodPost, "/blobs/uploads/", http.StatusBadRequest},
		{http.MethodPut, "/manifests/", http.StatusForbidden},
	} {
		reg := registrytest.New(t, registrytest.WithMiddleware(registrytest.FailFirst(c.method, c.path, -1, c.status)))
		p, err := newClient().Push(ctx, labelled(t, nil, 100, 1, nil), []string{reg.Ref("core:1.0.0")})
		if err == nil || len(p.Written) != 0 {
			t.Errorf("%s %s → %d: push = %+v, %v; want an error", c.method, c.path, c.status, p, err)
			continue
		}
		n := 0
		for _, q := range reg.Matching(c.method, c.path) {
			if q.Status == c.status {
				n++
			}
		}
		// one failed write per blob at most for POST (ggcr uploads each blob once), one for a manifest
		want := 1
		if c.method == http.MethodPost {
			want = 2 // the layer and the config, each tried once
		}
		if n > want {
			t.Errorf("%s %s → %d: asked %d times, want %d\n%s", c.method, c.path, c.status, n, want, reg.Dump())
		}
	}
}
