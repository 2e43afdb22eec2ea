package lane_test

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// pushCounters counts, through wrappers the test installs around the dev lane's backends,
// `docker save` exports per image, layer compressions per diff ID and manifest HEADs per tag.
type pushCounters struct {
	mu           sync.Mutex
	saves        map[string]int // image (as asked for) → exports
	compressions map[string]int // diff ID → compressions
	heads        map[string]int // repository:tag → manifest HEADs
}

func newPushCounters() *pushCounters {
	return &pushCounters{saves: map[string]int{}, compressions: map[string]int{}, heads: map[string]int{}}
}

func (c *pushCounters) observe() lane.Observe {
	return lane.Observe{
		Docker:   func(d registry.DaemonClient) registry.DaemonClient { return &countingDaemon{DaemonClient: d, c: c} },
		Registry: func(rt http.RoundTripper) http.RoundTripper { return &countingRoundTripper{inner: rt, c: c} },
		Compress: func(diffID string) { c.add(c.compressions, diffID) },
	}
}

func (c *pushCounters) add(m map[string]int, k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[k]++
}

// countingDaemon counts ImageSave calls (`docker save` exports) per image.
type countingDaemon struct {
	registry.DaemonClient
	c *pushCounters
}

func (d *countingDaemon) ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	for _, n := range images {
		d.c.add(d.c.saves, n)
	}
	return d.DaemonClient.ImageSave(ctx, images, opts...)
}

// countingRoundTripper counts manifest HEADs by tag (not those by digest).
type countingRoundTripper struct {
	inner http.RoundTripper
	c     *pushCounters
}

var manifestByTag = regexp.MustCompile(`^/v2/(.+)/manifests/([^/:]+)$`)

func (rt *countingRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if m := manifestByTag.FindStringSubmatch(req.URL.Path); m != nil && req.Method == http.MethodHead {
		rt.c.add(rt.c.heads, m[1]+":"+m[2])
	}
	return rt.inner.RoundTrip(req)
}

// total sums m's counts, over the keys only names when only is not nil, and gives the largest
// count and how many keys were counted.
func (c *pushCounters) total(m map[string]int, only map[string]bool) (n, most, keys int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range m {
		if only != nil && !only[k] {
			continue
		}
		n += v
		most = max(most, v)
		keys++
	}
	return n, most, keys
}

func (c *pushCounters) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, part := range []struct {
		name string
		m    map[string]int
	}{{"exports", c.saves}, {"compressions", c.compressions}, {"manifest HEADs", c.heads}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(part.name + ":\n")
		for _, k := range keys {
			b.WriteString("  " + k + " " + strings.Repeat("*", part.m[k]) + "\n")
		}
	}
	return b.String()
}

// TestPushAllDevCountsExportsCompressionsAndHeads pushes the reference platform with the dev lane
// to an empty registry (real dockerd, the in-process registry, an empty SHIPLANE_CACHE), then
// again with nothing changed, counting through wrappers around the lane's backends: each image is
// exported at most once per run and not at all on the no-change push; each layer is compressed at
// most once per run (the base's layers inside every image built FROM it are mounted, never
// compressed again) and none on the no-change push; each tag gets at most two manifest HEADs on
// the first push and exactly one on the no-change push.
func TestPushAllDevCountsExportsCompressionsAndHeads(t *testing.T) {
	ws := testenv.PlatformImages(t)
	root := ws.Config.Root
	reg := registrytest.New(t)
	cache := t.TempDir()

	run := func(name string) *pushCounters {
		t.Helper()
		c := newPushCounters()
		var out bytes.Buffer
		cfg, _ := devConfig(t, root, reg.Host(), &out)
		getenv := cfg.Getenv
		cfg.Getenv = func(k string) string {
			if k == "SHIPLANE_CACHE" {
				return cache
			}
			return getenv(k)
		}
		cfg.Observe = c.observe()
		start := time.Now()
		if err := lane.PushAllDev(t.Context(), cfg); err != nil {
			t.Fatalf("%s pushAllDev: %v\n%s", name, err, out.String())
		}
		t.Logf("%s push (%s, for information only):\n%s", name, time.Since(start).Round(time.Millisecond), c)
		return c
	}

	// The image tags: <version> (moving) and <version>-g<commit> (immutable). The chart goals'
	// checks go through the same client; they are counted apart.
	imageTags := map[string]bool{}
	for _, c := range ws.Manifest.Components {
		if c.Image != nil {
			imageTags["dev/"+c.Image.Name+":"+c.Version] = true
			imageTags["dev/"+c.Image.Name+":"+ws.ImmutableTag(c)] = true
		}
	}
	tags := len(imageTags)

	first := run("first")
	saves, mostSaves, images := first.total(first.saves, nil)
	gz, mostGz, layers := first.total(first.compressions, nil)
	heads, mostHeads, asked := first.total(first.heads, imageTags)
	if saves == 0 || gz == 0 {
		t.Fatalf("first push: %d exports and %d compressions counted: the counters are not in the path", saves, gz)
	}
	if mostSaves > 1 {
		t.Errorf("first push: an image was exported %d times, want at most once:\n%s", mostSaves, first)
	}
	if mostGz > 1 {
		t.Errorf("first push: a layer was compressed %d times, want at most once:\n%s", mostGz, first)
	}
	if asked != tags || mostHeads > 2 {
		t.Errorf("first push: %d manifest HEADs over %d image tags (at most %d on one), want every one of the %d tags asked at most twice:\n%s",
			heads, asked, mostHeads, tags, first)
	}
	t.Logf("first push: %d exports of %d local images, %d compressions of %d layers, %d manifest HEADs for %d image tags",
		saves, images, gz, layers, heads, tags)

	second := run("no-change")
	saves, _, _ = second.total(second.saves, nil)
	gz, _, _ = second.total(second.compressions, nil)
	heads, mostHeads, asked = second.total(second.heads, imageTags)
	if saves != 0 || gz != 0 {
		t.Errorf("no-change push: %d exports and %d compressions, want none (the image IDs are in the memo):\n%s", saves, gz, second)
	}
	if asked != tags || heads != tags || mostHeads != 1 {
		t.Errorf("no-change push: %d manifest HEADs over %d image tags, want exactly one for each of the %d tags:\n%s", heads, asked, tags, second)
	}
	t.Logf("no-change push: %d exports, %d compressions, %d manifest HEADs for %d image tags", saves, gz, heads, tags)
}
