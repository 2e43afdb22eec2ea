package lane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// noopLatency is the round-trip latency the benchmark adds to every registry and GitHub request.
const noopLatency = 20 * time.Millisecond

// noopToken is the fake GITHUB_TOKEN of the no-op release fixture.
const noopToken = "ghp_noopBENCHtoken0123456789abcdef"

// noopRelease is a generated repository of n components, every one with a FROM scratch image and
// every chartEvery-th one with a chart, under an umbrella chart, whose release v1.0.0 is entirely
// published: images (random images carrying the workspace's labels, pushed directly, so nothing
// is ever built), charts, component tags on the bare origin and the GitHub release with its
// assets (these by a first real ReleaseAll). The registry and the GitHub fake (behind a reverse
// proxy) answer after a settable latency.
type noopRelease struct {
	root, origin string
	reg          *registrytest.Registry
	gh           *githubtest.Fake
	ghURL        string
	latency      *atomic.Int64
	env          map[string]string
	report       string
	out          *noopBuffer
	ws           *lane.Workspace
	images       int
	charts       int // component charts and the umbrella
	// platforms are the components file's platforms: with two or more, every image is
	// published as an OCI index of one image per platform.
	platforms []string
	// git counts the git processes of every lane run through config.
	git *git.Counter
}

func newNoopRelease(tb testing.TB, n, chartEvery int) *noopRelease {
	tb.Helper()
	return newNoopReleaseOn(tb, n, chartEvery, nil)
}

// newNoopReleaseOn is newNoopRelease with the components file's platforms: each image is then an
// index of one image per platform (each labelled, its config naming its platform).
func newNoopReleaseOn(tb testing.TB, n, chartEvery int, platforms []string) *noopRelease {
	tb.Helper()
	return newNoopReleaseWith(tb, n, chartEvery, platforms, noopOptions{})
}

// noopOptions vary the no-op fixture for the attestation fault tests.
type noopOptions struct {
	// registry wraps the registry's handler (a fault injected into some requests). Default: none.
	registry func(http.Handler) http.Handler
	// github wraps the GitHub fake's front (behind the latency). Default: none.
	github func(http.Handler) http.Handler
	// firstRelease, when set, receives the first ReleaseAll's error instead of the fixture
	// failing on it (and checking the release). Default: nil.
	firstRelease *error
	// runFirst runs the first release instead of an in-process ReleaseAll (in a child process
	// that a test kills, say). Default: nil, in-process.
	runFirst func(f *noopRelease) error
	// env is laid over the fixture's environment (SIGNING=none, say). Default: none.
	env map[string]string
	// helmKeyring, when set, is committed as deploy/helm-keyring.gpg and helmKey (an armored
	// OpenPGP private key, or "") is HELM_SIGNING_KEY: the release attaches a .prov beside each
	// chart. Default: none (no keyring, no .prov).
	helmKeyring []byte
	helmKey     string
}

func newNoopReleaseWith(tb testing.TB, n, chartEvery int, platforms []string, o noopOptions) *noopRelease {
	tb.Helper()
	// No credentials of the machine are read, and none are needed.
	cred := tb.TempDir()
	tb.Setenv("DOCKER_CONFIG", filepath.Join(cred, "docker"))
	tb.Setenv("HELM_CONFIG_HOME", filepath.Join(cred, "helm-config"))
	tb.Setenv("HELM_CACHE_HOME", filepath.Join(cred, "helm-cache"))
	tb.Setenv("HELM_DATA_HOME", filepath.Join(cred, "helm-data"))

	f := &noopRelease{latency: &atomic.Int64{}, out: &noopBuffer{}, platforms: platforms, git: &git.Counter{}}
	delay := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d := time.Duration(f.latency.Load()); d > 0 {
				time.Sleep(d)
			}
			next.ServeHTTP(w, r)
		})
	}
	regOpts := []registrytest.Option{registrytest.WithMiddleware(delay)}
	if o.registry != nil {
		regOpts = append(regOpts, registrytest.WithMiddleware(o.registry))
	}
	f.reg = registrytest.New(tb, regOpts...)
	f.origin = filepath.Join(tb.TempDir(), "origin.git")
	f.gh = githubtest.NewFake(tb, "bench/shiplane", githubtest.RequireToken(noopToken), githubtest.WithGitRepository(f.origin))
	target, err := url.Parse(f.gh.URL())
	if err != nil {
		tb.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the fake builds its URLs (uploads, downloads) from Host: keep them on the proxy
		},
		Transport: &http.Transport{}, // its own: the proxy's requests are not the lane's
	}
	var ghFront http.Handler = proxy
	if o.github != nil {
		ghFront = o.github(proxy)
	}
	ghProxy := httptest.NewServer(delay(ghFront))
	tb.Cleanup(ghProxy.Close)
	f.ghURL = ghProxy.URL + "/"

	files := noopFiles(n, chartEvery)
	if len(platforms) > 0 {
		files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "components:\n",
			"platforms: ["+strings.Join(platforms, ", ")+"]\ncomponents:\n", 1)
	}
	signingKey, signingPub := newSigningKey(tb)
	files["deploy/signing.pub"] = signingPub
	if o.helmKeyring != nil {
		files["deploy/helm-keyring.gpg"] = string(o.helmKeyring)
	}
	f.root = gittest.New(tb, files)
	gittest.Git(tb, f.root, "init", "-q", "--bare", f.origin)
	gittest.Git(tb, f.root, "remote", "add", "origin", f.origin)
	gittest.Git(tb, f.root, "push", "-q", "origin", "HEAD:refs/heads/main")
	f.report = filepath.Join(tb.TempDir(), "report.json")
	f.env = map[string]string{
		"RELEASE_REGISTRY":   f.reg.Host() + "/rel",
		"RELEASE_CHART_REPO": "oci://" + f.reg.Host() + "/rel/charts",
		"GITHUB_TOKEN":       noopToken,
		"GITHUB_REPOSITORY":  "bench/shiplane",
		"GITHUB_API_URL":     f.ghURL,
		"SHIPLANE_REPORT":    f.report,
		// A no-op release must not talk to Docker at all: were it to try, it would fail here.
		"DOCKER_HOST": "unix:///nonexistent/docker.sock",
		// What this machine verified (digest → inputs) is kept here, not in the user cache.
		"SHIPLANE_CACHE": tb.TempDir(),
		// Every image and chart is signed, with an SBOM (images) and a provenance attached.
		"SIGNING_KEY": signingKey,
	}
	maps.Copy(f.env, o.env)
	if o.helmKey != "" {
		f.env["HELM_SIGNING_KEY"] = o.helmKey
	}

	ctx := tb.Context()
	if err := lane.TagRelease(ctx, f.config(0)); err != nil {
		tb.Fatalf("tagRelease: %v\n%s", err, f.out)
	}
	ws, err := lane.Open(ctx, f.config(0))
	if err != nil {
		tb.Fatal(err)
	}
	f.ws = ws
	// "Every image published": a small random image per component, labelled as a build of the
	// current inputs would be (the input key is what the release decides by), under rel/<name>:<version>.
	push := registry.New()
	labelled := func(c *manifest.Component, plat string) v1.Image {
		img, err := random.Image(256, 1)
		if err != nil {
			tb.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			tb.Fatal(err)
		}
		cfg = cfg.DeepCopy()
		cfg.Config.Labels = ws.Labels(c)
		if plat != "" {
			p, err := v1.ParsePlatform(plat)
			if err != nil {
				tb.Fatal(err)
			}
			cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
		}
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			tb.Fatal(err)
		}
		return img
	}
	for _, c := range ws.Manifest.Components {
		ref := []string{f.imageRef(c.Image.Name, c.Version)}
		if len(platforms) < 2 {
			if _, err := push.Push(ctx, labelled(c, ""), ref); err != nil {
				tb.Fatal(err)
			}
		} else {
			var imgs []publish.PlatformImage
			for _, p := range platforms {
				imgs = append(imgs, publish.PlatformImage{Platform: p, Image: labelled(c, p)})
			}
			idx, err := publish.Index(imgs)
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := push.PushIndex(ctx, idx, ref); err != nil {
				tb.Fatal(err)
			}
		}
		f.images++
	}
	for _, c := range ws.Manifest.Components {
		if c.Chart != "" {
			f.charts++
		}
	}
	if ws.Manifest.Platform.Chart != "" {
		f.charts++
	}
	// The rest (charts, component tags, the GitHub release and its assets) by a real release,
	// which finds every image published and so builds nothing.
	f.out.Reset()
	f.reg.Reset() // the first release's own requests only (the images above are not its)
	f.gh.ResetCounts()
	first := func() error { return lane.ReleaseAll(ctx, f.config(0)) }
	if o.runFirst != nil {
		first = func() error { return o.runFirst(f) }
	}
	if err := first(); o.firstRelease != nil {
		*o.firstRelease = err
		return f
	} else if err != nil {
		tb.Fatalf("first releaseAll: %v\n%s", err, f.out)
	}
	rels := f.gh.Releases()
	want := f.charts + 3
	if o.helmKeyring != nil {
		want += f.charts // a .prov each
	}
	if len(rels) != 1 || rels[0].Draft || rels[0].Tag != "v1.0.0" || len(rels[0].Assets) != want {
		tb.Fatalf("after the first release, GitHub holds %+v; want v1.0.0 published with %d assets", rels, want)
	}
	return f
}

// noopFiles generates the repository: svc-00 is a base image every other image is built FROM.
func noopFiles(n, chartEvery int) map[string]string {
	const source = "https://example.com/bench"
	var m strings.Builder
	fmt.Fprintf(&m, "project: bench\nsource: %s\nlicense: MIT\nplatform:\n  version_file: VERSION\n  chart: charts/platform\ncomponents:\n", source)
	files := map[string]string{"VERSION": "1.0.0\n"}
	chartYAML := func(name, v, extra string) string {
		return "apiVersion: v2\nname: " + name + "\ndescription: the " + name + " chart\ntype: application\nversion: " + v +
			"\nappVersion: \"" + v + "\"\nsources: [" + source + "]\nannotations:\n  org.opencontainers.image.licenses: MIT\n" + extra
	}
	var deps strings.Builder
	for i := range n {
		name := fmt.Sprintf("svc-%02d", i)
		v := fmt.Sprintf("1.%d.0", i%4)
		files["services/"+name+"/VERSION"] = v + "\n"
		files["services/"+name+"/Dockerfile"] = "FROM scratch\nLABEL component=" + name + "\n"
		paths := "services/" + name
		fmt.Fprintf(&m, "  - name: %s\n    description: generated component %d\n", name, i)
		chart := chartEvery > 0 && i%chartEvery == 0
		if chart {
			paths += ", charts/" + name
		}
		fmt.Fprintf(&m, "    paths: [%s]\n    version_file: services/%s/VERSION\n    image:\n      dockerfile: services/%s/Dockerfile\n", paths, name, name)
		if i > 0 {
			m.WriteString("      from: svc-00\n    depends_on: [svc-00]\n")
		}
		if chart {
			fmt.Fprintf(&m, "    chart: charts/%s\n", name)
			files["charts/"+name+"/Chart.yaml"] = chartYAML(name, v, "")
			files["charts/"+name+"/values.yaml"] = "greeting: hello\nimage:\n  repository: bench/" + name + "\n  tag: \"\"\n  digest: \"\"\n"
			files["charts/"+name+"/templates/configmap.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + name +
				"\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"
			fmt.Fprintf(&deps, "  - name: %s\n    version: %s\n    repository: file://../%s\n", name, v, name)
		}
	}
	files["deploy/components.yaml"] = m.String()
	files["charts/platform/Chart.yaml"] = chartYAML("platform", "1.0.0", "dependencies:\n"+deps.String())
	files["charts/platform/values.yaml"] = "{}\n"
	files["charts/platform/templates/NOTES.txt"] = "the generated platform\n"
	return files
}

func (f *noopRelease) imageRef(name, version string) string {
	return f.reg.Host() + "/rel/" + name + ":" + version
}

func (f *noopRelease) config(workers int) lane.Config {
	return lane.Config{Root: f.root, Progress: f.out, Stdout: f.out, Workers: workers, Getenv: func(k string) string {
		return f.env[k] // everything else unset, RELEASE_TAG included: the tag at HEAD is the release's
	}, GitOptions: []git.Option{git.WithCounter(f.git)}}
}

// run is one no-op ReleaseAll at the current latency: its wall time and what it sent.
func (f *noopRelease) run(ctx context.Context, workers int) (time.Duration, noopCounts, error) {
	f.reg.Reset()
	f.gh.ResetCounts()
	f.out.Reset()
	f.git.Reset()
	start := time.Now()
	err := lane.ReleaseAll(ctx, f.config(workers))
	d := time.Since(start)
	return d, f.counts(), err
}

// noopCounts classifies what the registry and GitHub received.
type noopCounts struct {
	// Auth is the registry's GET /v2/ (the client's per-repository handshake).
	Auth int
	// Image and Chart are by repository kind (rel/<name> and rel/charts/<name>).
	Image, Chart noopKind
	// Referrers and TagSchema are the attestation goals' assessment, one per artifact: the
	// referrers API, and, where it is missing (the distribution registry), the referrers tag
	// schema's index (GET manifests/sha256-<hex>). Legacy is, there too, cosign's legacy tags
	// (GET manifests/sha256-<hex>.sig and .att).
	Referrers, TagSchema, Legacy int
	// RegOther is any other registry request; RegWrites every POST, PUT, PATCH, DELETE.
	RegOther, RegWrites int
	// ByTag and ListAssets are the GitHub release lookup (get by tag, list its assets); Asset
	// counts asset fetches (the asset API's redirect and the download).
	ByTag, ListAssets, Asset, GHOther, GHWrites int
	// Git is the git processes the lane started.
	Git int
}

type noopKind struct{ HeadManifest, GetManifest, GetBlob, Other int }

func (k noopKind) total() int { return k.HeadManifest + k.GetManifest + k.GetBlob + k.Other }

func (c noopCounts) registry() int {
	return c.Auth + c.Image.total() + c.Chart.total() + c.RegOther + c.Referrers + c.TagSchema + c.Legacy
}
func (c noopCounts) github() int { return c.ByTag + c.ListAssets + c.Asset + c.GHOther }
func (c noopCounts) writes() int { return c.RegWrites + c.GHWrites }

func (f *noopRelease) counts() noopCounts {
	var c noopCounts
	for _, q := range f.reg.Requests() {
		switch q.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			c.RegWrites++
		}
		if q.Path == "/v2/" && q.Method == http.MethodGet {
			c.Auth++
			continue
		}
		// What is attached to an artifact: the referrers API, else the referrers tag schema.
		if strings.Contains(q.Path, "/referrers/") {
			c.Referrers++
			continue
		}
		if strings.Contains(q.Path, "/manifests/sha256-") && q.Method == http.MethodGet {
			if strings.HasSuffix(q.Path, ".sig") || strings.HasSuffix(q.Path, ".att") {
				c.Legacy++
				continue
			}
			c.TagSchema++
			continue
		}
		rest := strings.TrimPrefix(q.Path, "/v2/")
		var repo, what string
		for _, k := range []string{"/manifests/", "/blobs/"} {
			if i := strings.LastIndex(rest, k); i > 0 {
				repo, what = rest[:i], k
				break
			}
		}
		kind := &c.Image
		if strings.HasPrefix(repo, "rel/charts/") {
			kind = &c.Chart
		}
		switch {
		case repo == "":
			c.RegOther++
		case what == "/manifests/" && q.Method == http.MethodHead:
			kind.HeadManifest++
		case what == "/manifests/" && q.Method == http.MethodGet:
			kind.GetManifest++
		case what == "/blobs/" && q.Method == http.MethodGet:
			kind.GetBlob++
		default:
			kind.Other++
		}
	}
	for _, q := range f.gh.Requests() {
		switch q.Route {
		case githubtest.RouteGetReleaseByTag:
			c.ByTag++
		case githubtest.RouteListAssets:
			c.ListAssets++
		case githubtest.RouteGetAsset, githubtest.RouteDownload:
			c.Asset++
		default:
			c.GHOther++
		}
	}
	c.GHWrites = f.gh.Writes()
	c.Git = f.git.Total()
	return c
}

// sequentialCheck asks about the same artifacts one after another with the lane's own kind of
// clients, then looks the release up. With labels, it reads what a decision by inputs reads
// without a release manifest: per image a manifest HEAD and the GETs of its inputs label (manifest
// and config), per chart the chart client's check (HEAD, manifest and config); without, one
// manifest HEAD per artifact, the lane's own requests as of the release-manifest index.
func (f *noopRelease) sequentialCheck(ctx context.Context, labels bool) (time.Duration, error) {
	reg := registry.New()
	charts, err := helm.NewClient()
	if err != nil {
		return 0, err
	}
	gh, err := github.New("bench/shiplane", noopToken, github.WithBaseURL(f.ghURL))
	if err != nil {
		return 0, err
	}
	ws := f.ws
	repo := "oci://" + f.reg.Host() + "/rel/charts"
	type chartRef struct{ name, version, key string }
	var chartRefs []chartRef
	for _, c := range ws.Manifest.Components {
		if c.Chart != "" {
			chartRefs = append(chartRefs, chartRef{filepath.Base(c.Chart), c.Version, string(ws.ChartKeys[c.Name])})
		}
	}
	chartRefs = append(chartRefs, chartRef{"platform", ws.Manifest.Platform.Version, string(ws.ChartKeys[identity.PlatformChart])})
	head := func(ref string) error {
		if _, ok, err := reg.Digest(ctx, ref); err != nil || !ok {
			return fmt.Errorf("HEAD %s: present %v, %v", ref, ok, err)
		}
		return nil
	}
	start := time.Now()
	for _, c := range ws.Manifest.Components {
		ref := f.imageRef(c.Image.Name, c.Version)
		if err := head(ref); err != nil {
			return 0, err
		}
		if !labels {
			continue
		}
		img, err := reg.Image(ctx, ref)
		if err != nil || img.Inputs != string(ws.Keys[c.Name]) {
			return 0, fmt.Errorf("GET %s: inputs %q, %v", ref, img.Inputs, err)
		}
	}
	for _, c := range chartRefs {
		if !labels {
			if err := head(strings.TrimPrefix(repo, "oci://") + "/" + c.name + ":" + c.version); err != nil {
				return 0, err
			}
			continue
		}
		// A chart's identity also pins its images' digests (plan.PinnedInputs): the reference
		// check asks the same question as the release, whatever key it finds.
		if ch, err := charts.Chart(ctx, repo, c.name, c.version); err != nil || !ch.Present || ch.Inputs == "" || ch.Inputs == c.key {
			return 0, fmt.Errorf("chart %s: %+v, %v", c.name, ch, err)
		}
	}
	if r, err := gh.Release(ctx, "v"+ws.Manifest.Platform.Version); err != nil || !r.Present || r.Draft {
		return 0, fmt.Errorf("release: %+v, %v", r, err)
	}
	return time.Since(start), nil
}

// noopBuffer is a bytes.Buffer safe for the engine's concurrent progress writes.
type noopBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *noopBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *noopBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *noopBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// callSites records, for every request sent through it, the call site in the suite that caused
// it: the backend entry point and the lane/plan/publish line that called it.
type callSites struct {
	inner http.RoundTripper
	mu    sync.Mutex
	n     map[string]int
}

func (c *callSites) RoundTrip(req *http.Request) (*http.Response, error) {
	pcs := make([]uintptr, 128)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	const mod = "github.com/shiplane/shiplane/magefiles/"
	pkgOf := func(fn string) string {
		rest, ok := strings.CutPrefix(fn, mod)
		if !ok {
			return ""
		}
		p, _, _ := strings.Cut(rest, ".")
		return p
	}
	site := func(fr runtime.Frame) string {
		file := fr.File
		if i := strings.Index(file, "/magefiles/"); i >= 0 {
			file = file[i+1:]
		}
		fn := fr.Function[strings.LastIndex(fr.Function, "/")+1:]
		return fmt.Sprintf("%s:%d (%s)", file, fr.Line, fn)
	}
	var backend, chain []string
	for {
		fr, more := frames.Next()
		switch p := pkgOf(fr.Function); p {
		case "registry", "helm", "github":
			if len(chain) == 0 {
				backend = []string{site(fr)}
			}
		case "lane", "plan", "publish", "goal":
			if !strings.HasSuffix(fr.File, "_test.go") && len(chain) < 4 && p != "goal" {
				chain = append(chain, site(fr))
			}
		}
		if !more {
			break
		}
	}
	what := req.Method + " " + noopRoute(req.URL.Path)
	key := what + "  ←  " + strings.Join(append(backend, chain...), "  ←  ")
	c.mu.Lock()
	c.n[key]++
	c.mu.Unlock()
	return c.inner.RoundTrip(req)
}

// noopRoute names a request path by its shape: /v2/, manifests or blobs of an image or chart
// repository, or the GitHub route.
func noopRoute(p string) string {
	switch {
	case p == "/v2/":
		return "/v2/ (auth handshake)"
	case strings.Contains(p, "/rel/charts/") && strings.Contains(p, "/manifests/"):
		return "chart manifest"
	case strings.Contains(p, "/rel/charts/") && strings.Contains(p, "/blobs/"):
		return "chart blob"
	case strings.Contains(p, "/manifests/"):
		return "image manifest"
	case strings.Contains(p, "/blobs/"):
		return "image blob (config)"
	case strings.Contains(p, "/releases/tags/"):
		return "release by tag"
	case strings.HasSuffix(p, "/assets"):
		return "release assets"
	case strings.Contains(p, "/releases/assets/"), strings.HasPrefix(p, "/_fake/downloads/"):
		return "release asset download"
	}
	return p
}

// TestReleaseNoopRequestBudget re-runs a fully published release (no latency) and checks what it
// sends: nothing written anywhere (registry, GitHub, the remote's tags), Docker never contacted
// (DOCKER_HOST points nowhere: ReleaseAll fails if it tries), every goal already achieved, and the
// requests per artifact against the budget (see the ceilings below). It logs the
// requests by the call site in the suite that sent them.
func TestReleaseNoopRequestBudget(t *testing.T) {
	checkNoopBudget(t, newNoopRelease(t, 6, 3)) // images svc-00..svc-05; charts svc-00, svc-03 and the umbrella
}

// TestReleaseNoopTwoPlatformsRequestBudget is TestReleaseNoopRequestBudget with every image an
// OCI index of linux/amd64 and linux/arm64: the re-run still makes one manifest HEAD per image
// (the index's digest) and writes nothing; with nothing remembered it reads each index and each
// platform's manifest and config.
func TestReleaseNoopTwoPlatformsRequestBudget(t *testing.T) {
	checkNoopBudget(t, newNoopReleaseOn(t, 6, 3, []string{"linux/amd64", "linux/arm64"}))
}

// checkNoopBudget re-runs f's release, warm and then with nothing remembered, against the budget.
func checkNoopBudget(t *testing.T, f *noopRelease) {
	ctx := t.Context()
	tagsBefore := gittest.Git(t, f.origin, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")

	rec := &callSites{inner: http.DefaultTransport, n: map[string]int{}}
	saved := http.DefaultTransport
	http.DefaultTransport = rec // every backend client the lane makes picks it up as its transport
	t.Cleanup(func() { http.DefaultTransport = saved })
	f.reg.Reset()
	f.gh.ResetCounts()
	f.out.Reset()
	err := lane.ReleaseAll(ctx, f.config(0))
	http.DefaultTransport = saved
	if err != nil {
		t.Fatalf("no-op releaseAll: %v\n%s", err, f.out)
	}
	c := f.counts()
	var sites []string
	for k, n := range rec.n {
		sites = append(sites, fmt.Sprintf("%3d × %s", n, k))
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i][5:] < sites[j][5:] })
	t.Logf("no-op release of %d images and %d charts: %+v\nrequests by call site (the client sends each auth handshake twice to a plain-HTTP registry, https and http racing, and the https one never reaches it; it runs in a goroutine of go-containerregistry, so its caller is not on the stack):\n%s",
		f.images, f.charts, c, strings.Join(sites, "\n"))

	// The budget of a re-run on the machine that released: no write; at most one manifest HEAD per
	// artifact and one auth handshake per repository; no label GET, because each digest the HEAD
	// answers was read before, on this machine, to carry its inputs (a digest names immutable
	// content; nothing a registry or release writer can edit stands in for it); one release
	// lookup.
	repos := f.images + f.charts
	atMost := func(c noopCounts, what string, got, limit int, why string) {
		t.Helper()
		if got > limit {
			t.Errorf("%s: %d, want at most %d: %s\n%s", what, got, limit, why, f.reg.Dump())
		}
	}
	atMost(c, "registry and GitHub writes", c.writes(), 0, "a no-op release writes nothing")
	atMost(c, "image manifest HEADs", c.Image.HeadManifest, f.images, "one per image")
	atMost(c, "chart manifest HEADs", c.Chart.HeadManifest, f.charts, "one per chart")
	atMost(c, "auth handshakes (GET /v2/)", c.Auth, repos+1, "one per repository, and one for the signing client")
	atMost(c, "referrers requests", c.Referrers, repos, "one per artifact: what is attached to it")
	atMost(c, "referrers tag schema GETs", c.TagSchema, repos+1, "one per artifact, where the registry has no referrers API, and one for the question whether it has (once per registry)")
	atMost(c, "cosign legacy tag GETs", c.Legacy, 2*repos, "the .sig and the .att, where the registry has no referrers API")
	atMost(c, "manifest GETs", c.Image.GetManifest+c.Chart.GetManifest, 0, "each digest's identity was verified on this machine")
	atMost(c, "config GETs", c.Image.GetBlob+c.Chart.GetBlob, 0, "each digest's identity was verified on this machine")
	atMost(c, "other registry requests", c.RegOther+c.Image.Other+c.Chart.Other, 0, "a no-op release only asks for manifest digests")
	atMost(c, "release lookups (get by tag)", c.ByTag, 1, "one lookup")
	atMost(c, "GitHub requests", c.github(), 2, "get-by-tag and the asset list (the plan checks the release holds exactly its assets)")

	// On a machine that never saw these digests (a fresh CI runner), identity comes from each
	// artifact itself: a HEAD, then the image's manifest and config (its labels), or the chart's
	// manifest (its annotations). Still no write.
	if err := os.RemoveAll(f.env["SHIPLANE_CACHE"]); err != nil {
		t.Fatal(err)
	}
	f.reg.Reset()
	f.gh.ResetCounts()
	if err := lane.ReleaseAll(ctx, f.config(0)); err != nil {
		t.Fatalf("no-op releaseAll with nothing remembered: %v\n%s", err, f.out)
	}
	cold := f.counts()
	t.Logf("no-op release with nothing remembered: %+v", cold)
	atMost(cold, "registry and GitHub writes (cold)", cold.writes(), 0, "a no-op release writes nothing")
	atMost(cold, "image manifest HEADs (cold)", cold.Image.HeadManifest, f.images, "one per image")
	perImage, why := 2, "the labels, read from each image"
	if p := len(f.platforms); p > 1 {
		perImage, why = 1+2*p, "the index, then each platform's labels (its manifest and config)"
	}
	// And whether each attestation attached is the release key's comes from its bundle: the
	// referrer manifest and the bundle (2 GETs each; 3 per image, 2 per chart), verified with
	// the key, not from its annotations, which anyone who can write to the registry can copy.
	// This registry has no referrers API: the legacy .sig/.att layers are verified too (one
	// GET each).
	atMost(cold, "image manifest and config GETs (cold)", cold.Image.GetManifest+cold.Image.GetBlob, (perImage+3*2+3)*f.images,
		why+", and each of its 3 bundles (a referrer manifest and the bundle) and 3 legacy layers")
	atMost(cold, "chart requests (cold)", cold.Chart.HeadManifest+cold.Chart.GetManifest+cold.Chart.GetBlob, (4+2*2+2)*f.charts,
		"a HEAD, then the chart client's own HEAD, manifest (annotations) and config GETs, and each of its 2 bundles (a referrer manifest and the bundle) and 2 legacy layers")
	if cold.Image.GetBlob < f.images {
		t.Errorf("a cold no-op release read %d image configs for %d images: identity must come from the artifacts", cold.Image.GetBlob, f.images)
	}
	if after := gittest.Git(t, f.origin, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"); after != tagsBefore {
		t.Errorf("the no-op release changed the remote's tags:\n%s\n%s", tagsBefore, after)
	}
	var rep goal.Report
	data, err := os.ReadFile(f.report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Status != goal.AlreadyAchieved {
			t.Errorf("no-op release: %s", r.Line())
		}
	}
	if !strings.Contains(f.out.String(), "everything is published: no verification needed") {
		t.Errorf("the plan found something to publish:\n%s", f.out)
	}
}

// BenchmarkReleaseNoop re-runs the release of 50 generated components whose every artifact is
// already published (50 images, 10 component charts on svc-00, svc-05, …, svc-45, the umbrella
// chart, 50 component tags, the GitHub release), against the in-process registry and the GitHub
// fake answering every request after 20 ms. ns/op is one no-op ReleaseAll.
//
// Metrics, per run: the requests by kind and artifact (req/artifact counts every registry and
// GitHub request over images + charts; auth/repo is GET /v2/ per repository), writes
// (always 0: a write fails the benchmark, as does any attempt to reach Docker), release-lookups
// (GitHub get-by-tag) and gh-req (every GitHub request); and the time against two references:
//
//   - floor-ms: t0-ms + floor-rounds × 20 ms. t0-ms is the same no-op run with no latency (the
//     fastest of 3 after a warm-up): everything the lane does besides waiting on the network (git,
//     planning, the goals, and the in-process servers' own work for every request it sends).
//     floor-rounds is the budget done with the lane's concurrency W (the engine's
//     workers): the A registry artifacts checked W at a time, each an auth round then a manifest
//     HEAD round, plus one release lookup round: 2·⌈A/W⌉ + 1. x-floor = run / floor (target ≤ 2).
//   - seq-ms: the same artifacts checked one after another with the lane's own kind of clients (a
//     manifest HEAD and the inputs label GETs per image, the chart client's check per chart, then
//     the release), measured once with the latency on. speedup-x = seq / run (target ≥ 10).
//     seq-head-ms and speedup-head-x: the same with one manifest HEAD per artifact and no GET,
//     i.e. the requests of the budget itself sent one after another.
//
// serial-rounds = (run − t0) / 20 ms is how many round trips the run waited for one after
// another. workers=default runs with the engine's default (GOMAXPROCS, at least 2);
// workers=all with one worker per artifact, so the goals are limited by nothing but the lane.
func BenchmarkReleaseNoop(b *testing.B) {
	benchNoop(b, newNoopRelease(b, 50, 5))
}

// BenchmarkReleaseNoopTwoPlatforms is BenchmarkReleaseNoop with every image published as an OCI
// index of linux/amd64 and linux/arm64 (the components file's platforms): the same 61 artifacts,
// the same budget (one manifest HEAD per image: the index's digest), the same metrics.
func BenchmarkReleaseNoopTwoPlatforms(b *testing.B) {
	benchNoop(b, newNoopReleaseOn(b, 50, 5, []string{"linux/amd64", "linux/arm64"}))
}

// benchNoop is the body of the no-op release benchmarks.
func benchNoop(b *testing.B, f *noopRelease) {
	ctx := b.Context()
	tagsBefore := gittest.Git(b, f.origin, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")
	f.latency.Store(int64(noopLatency))
	seq, err := f.sequentialCheck(ctx, true)
	if err != nil {
		b.Fatalf("sequential check: %v", err)
	}
	seqHead, err := f.sequentialCheck(ctx, false)
	if err != nil {
		b.Fatalf("sequential HEADs: %v", err)
	}
	artifacts := f.images + f.charts
	for _, wc := range []struct {
		name    string
		workers int
	}{{"workers=default", 0}, {"workers=all", artifacts}} {
		b.Run(wc.name, func(b *testing.B) {
			ctx := b.Context()
			w := wc.workers
			if w == 0 {
				w = max(runtime.GOMAXPROCS(0), 2) // goal.New's default
			}
			f.latency.Store(0)
			var zero []time.Duration
			for i := range 4 {
				d, _, err := f.run(ctx, wc.workers)
				if err != nil {
					b.Fatalf("no-op releaseAll without latency: %v\n%s", err, f.out)
				}
				if i > 0 { // the first is a warm-up
					zero = append(zero, d)
				}
			}
			t0 := slices.Min(zero)

			f.latency.Store(int64(noopLatency))
			run, sum, n := f.loop(b, wc.workers)
			f.latency.Store(0)

			rounds := 2*int(math.Ceil(float64(artifacts)/float64(w))) + 1
			floor := t0 + time.Duration(rounds)*noopLatency
			per := func(v, of int) float64 { return float64(v) / float64(n) / float64(of) }
			b.ReportMetric(per(sum.registry()+sum.github(), artifacts), "req/artifact")
			b.ReportMetric(per(sum.Auth, artifacts), "auth/repo") // one repository per image and per chart
			b.ReportMetric(per(sum.Image.HeadManifest, f.images), "HEAD/image")
			b.ReportMetric(per(sum.Image.GetManifest, f.images), "GETmanifest/image")
			b.ReportMetric(per(sum.Image.GetBlob, f.images), "GETblob/image")
			b.ReportMetric(per(sum.Chart.HeadManifest, f.charts), "HEAD/chart")
			b.ReportMetric(per(sum.Chart.GetManifest, f.charts), "GETmanifest/chart")
			b.ReportMetric(per(sum.Chart.GetBlob, f.charts), "GETblob/chart")
			b.ReportMetric(per(sum.writes(), 1), "writes")
			b.ReportMetric(per(sum.ByTag, 1), "release-lookups")
			b.ReportMetric(per(sum.github(), 1), "gh-req")
			b.ReportMetric(ms(t0), "t0-ms")
			b.ReportMetric(float64(rounds), "floor-rounds")
			b.ReportMetric(ms(floor), "floor-ms")
			b.ReportMetric(float64(run)/float64(floor), "x-floor")
			b.ReportMetric(ms(seq), "seq-ms")
			b.ReportMetric(float64(seq)/float64(run), "speedup-x")
			b.ReportMetric(ms(seqHead), "seq-head-ms")
			b.ReportMetric(float64(seqHead)/float64(run), "speedup-head-x")
			b.ReportMetric(float64(run-t0)/float64(noopLatency), "serial-rounds")
		})
	}
	if after := gittest.Git(b, f.origin, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"); after != tagsBefore {
		b.Fatalf("the no-op releases changed the remote's tags:\n%s\n%s", tagsBefore, after)
	}
}

// loop runs a no-op ReleaseAll at the current latency for every b.Loop iteration, failing b on an
// error or a write, and returns the mean time, the summed counts and the number of runs.
func (f *noopRelease) loop(b *testing.B, workers int) (time.Duration, noopCounts, int) {
	var total time.Duration
	var sum noopCounts
	n := 0
	for b.Loop() {
		d, c, err := f.run(b.Context(), workers)
		if err != nil {
			b.Fatalf("no-op releaseAll: %v\n%s", err, f.out)
		}
		if c.writes() != 0 {
			b.Fatalf("a no-op release wrote: registry %d, GitHub %d\n%s", c.RegWrites, c.GHWrites, f.reg.Dump())
		}
		total += d
		sum = sum.add(c)
		n++
	}
	return total / time.Duration(n), sum, n
}

func (c noopCounts) add(o noopCounts) noopCounts {
	k := func(a, b noopKind) noopKind {
		return noopKind{a.HeadManifest + b.HeadManifest, a.GetManifest + b.GetManifest, a.GetBlob + b.GetBlob, a.Other + b.Other}
	}
	return noopCounts{
		Auth: c.Auth + o.Auth, Image: k(c.Image, o.Image), Chart: k(c.Chart, o.Chart),
		RegOther: c.RegOther + o.RegOther, RegWrites: c.RegWrites + o.RegWrites, Referrers: c.Referrers + o.Referrers, TagSchema: c.TagSchema + o.TagSchema, Legacy: c.Legacy + o.Legacy,
		ByTag: c.ByTag + o.ByTag, ListAssets: c.ListAssets + o.ListAssets, Asset: c.Asset + o.Asset, GHOther: c.GHOther + o.GHOther,
		GHWrites: c.GHWrites + o.GHWrites, Git: c.Git + o.Git,
	}
}

// TestReleaseNoopGitProcessesConstant counts the git processes (real git, counted through
// git.WithCounter) of a whole no-op releaseAll at 5 and at 50 components, and asserts the counts
// are the same: the release facts ask about every component's tag in one batch
// (git.Repo.ResolveMany), so the count does not grow with the components. Twice: with every tag
// at HEAD, and after an unrelated commit the release tag was moved to, so that every component's
// tag is at the earlier commit and the facts compare the inputs there with HEAD's.
func TestReleaseNoopGitProcessesConstant(t *testing.T) {
	const atHead, earlier = "every tag at HEAD", "component tags at an earlier commit"
	counts := map[string]map[int]map[string]int{atHead: {}, earlier: {}}
	for _, n := range []int{5, 50} {
		f := newNoopRelease(t, n, 5)
		count := func(scenario string) {
			t.Helper()
			if _, _, err := f.run(t.Context(), 0); err != nil {
				t.Fatalf("%s: no-op releaseAll of %d components: %v\n%s", scenario, n, err, f.out)
			}
			counts[scenario][n] = f.git.BySubcommand()
			t.Logf("%s, %d components: %d git processes %v", scenario, n, f.git.Total(), counts[scenario][n])
		}
		count(atHead)
		tagged := gittest.Git(t, f.root, "rev-parse", "HEAD")
		gittest.Write(t, f.root, map[string]string{"NOTES.md": "no component's input\n"})
		gittest.Commit(t, f.root, "an unrelated commit")
		gittest.Git(t, f.root, "tag", "-f", "-a", "-m", "moved", "v1.0.0")
		gittest.Git(t, f.root, "push", "-q", "-f", "origin", "HEAD:refs/heads/main", "refs/tags/v1.0.0")
		count(earlier)
		if !strings.Contains(f.out.String(), "(tag exists at "+tagged[:12]+")") {
			t.Fatalf("%s: the release did not find the component tags at %s:\n%s", earlier, tagged, f.out)
		}
	}
	for _, scenario := range []string{atHead, earlier} {
		if c := counts[scenario]; !maps.Equal(c[5], c[50]) {
			t.Errorf("%s: a no-op releaseAll started git processes by the number of components: 5 components %v, 50 components %v", scenario, c[5], c[50])
		}
	}
}

// BenchmarkReleaseNoopScale times a no-op releaseAll (every artifact of the noopRelease fixture
// already published, a chart on every fifth component) at zero latency for 5, 20, 50 and 100
// components: what the lane itself costs per component (git, planning, the goals, the in-process
// servers' work). ms/op is one run; git-procs/op the git processes it started; x-components=5,
// reported when components=5 ran first in the same process, is this size's time over that one's
// (the target: at most 1.5 at 100 components).
func BenchmarkReleaseNoopScale(b *testing.B) {
	var base time.Duration
	for _, n := range []int{5, 20, 50, 100} {
		b.Run(fmt.Sprintf("components=%d", n), func(b *testing.B) {
			ctx := b.Context()
			f := newNoopRelease(b, n, 5)
			if _, _, err := f.run(ctx, 0); err != nil { // a warm-up
				b.Fatalf("no-op releaseAll: %v\n%s", err, f.out)
			}
			run, sum, runs := f.loop(b, 0)
			b.ReportMetric(ms(run), "ms/op")
			b.ReportMetric(float64(sum.Git)/float64(runs), "git-procs/op")
			if n == 5 {
				base = run
			} else if base > 0 {
				b.ReportMetric(float64(run)/float64(base), "x-components=5")
			}
		})
	}
}
