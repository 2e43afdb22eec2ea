package lane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/compose/v5/pkg/api"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/build/buildtest"
	"github.com/shiplane/shiplane/magefiles/compose"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// The end-to-end tests below run one after the other, never in parallel: every project joins the
// shared network, where the service names (core, scanner) are DNS aliases, so two projects up at
// once would answer for each other.

// layeringManifest lists its components out of order on purpose: layering follows the dependency
// graph, not the file.
func layeringManifest(t *testing.T) *manifest.Manifest {
	t.Helper()
	m, errs := manifest.Parse("components.yaml", []byte(`
project: demo
platform: {version_file: VERSION}
components:
  - {name: hook, paths: [h], version_file: h/VERSION, compose: compose/hook.yaml, depends_on: [core, base]}
  - {name: extra, paths: [e], version_file: e/VERSION, compose: compose/extra.yaml, depends_on: [core]}
  - {name: core, paths: [c], version_file: c/VERSION, compose: compose/core.yaml, depends_on: [base]}
  - {name: base, paths: [b], version_file: b/VERSION}
  - {name: fs, paths: [f], version_file: f/VERSION, compose: compose/fs.yaml, depends_on: [core]}
  - {name: scan, paths: [s], version_file: s/VERSION, compose: compose/scan.yaml}
bundles:
  - {name: scanner, components: [scan]}
  - {name: extras, components: [extra]}
`))
	if errs != nil {
		t.Fatal(errs)
	}
	return m
}

func TestComposeFilesLayering(t *testing.T) {
	m := layeringManifest(t)
	base := []string{"compose/core.yaml", "compose/fs.yaml", "compose/hook.yaml"}
	tests := []struct {
		include []string
		want    []string
	}{
		{nil, base},
		{[]string{"scanner"}, append(base[:3:3], "compose/scan.yaml")},
		{[]string{" extras", "scanner", "extras", ""}, append(base[:3:3], "compose/extra.yaml", "compose/scan.yaml")},
	}
	for _, tt := range tests {
		got, err := lane.ComposeFiles(m, tt.include)
		if err != nil {
			t.Fatalf("ComposeFiles(%q): %v", tt.include, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ComposeFiles(%q) = %v, want %v", tt.include, got, tt.want)
		}
	}
}

func TestComposeUpLocalUnknownBundle(t *testing.T) {
	root := testenv.RepoRoot(t)
	for name, call := range map[string]func(cfg lane.Config) error{
		"argument": func(cfg lane.Config) error { return lane.ComposeUpLocal(t.Context(), cfg, []string{"scaner"}) },
		"COMPOSE_INCLUDE": func(cfg lane.Config) error {
			cfg.Getenv = getenv(map[string]string{"COMPOSE_INCLUDE": "scanner, scaner"})
			return lane.ComposeUpLocal(t.Context(), cfg, nil)
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call(lane.Config{Root: root, Getenv: getenv(nil), Progress: io.Discard, Stdout: io.Discard})
			var unknown *lane.UnknownBundleError
			if !errors.As(err, &unknown) {
				t.Fatalf("ComposeUpLocal = %v, want *UnknownBundleError", err)
			}
			for _, s := range []string{`unknown bundle "scaner"`, "valid bundles: scanner", `did you mean "scanner"?`} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestComposeUpLocalMissingImage(t *testing.T) {
	testenv.PlatformImages(t) // up to date: composeUpLocal builds nothing before finding the tag missing
	tag := fmt.Sprintf("absent-%d", rand.Uint64())
	s := newStack(t, map[string]string{"IMAGE_TAG": tag})
	err := lane.ComposeUpLocal(t.Context(), s.cfg, nil)
	var missing *compose.MissingImageError
	if !errors.As(err, &missing) {
		t.Fatalf("ComposeUpLocal = %v, want *compose.MissingImageError", err)
	}
	for _, want := range []string{"shiplane/core:" + tag, "run: go run mage.go buildAllLocal"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := s.containers(t); len(got) != 0 {
		t.Errorf("containers were created despite the missing images: %v", got)
	}
}

// TestComposeUpLocalBuildsWhatIsOutOfDateFirst runs a copy of the repository whose compose files
// name the copy's images: -nobuild refuses images never built, a first composeUpLocal builds them,
// a second builds nothing, an edited service is rebuilt and its container runs the new image, and
// -nobuild after another edit warns and starts the image that is there.
func TestComposeUpLocalBuildsWhatIsOutOfDateFirst(t *testing.T) {
	real := testenv.RequireDocker(t)
	const project = "shiplane-test-upbuild"
	root := testenv.CopyRepo(t, project)
	files, err := filepath.Glob(filepath.Join(root, "compose", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("compose files: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, bytes.ReplaceAll(data, []byte("image: shiplane/"), []byte("image: "+project+"/")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := newStack(t, map[string]string{"COMPONENTS": "connector-webhook"})
	s.cfg.Root = root
	var log progress.Buffer
	s.cfg.Progress = io.MultiWriter(&testLog{t: t}, &log)
	var d *buildtest.Counting
	counted := lane.WithBuildDaemon(func(inner build.Daemon) build.Daemon {
		d = buildtest.NewCounting(inner)
		return d
	})
	up := func(what string, opts ...lane.UpOption) error {
		t.Helper()
		log.Reset()
		s.stdout.Reset()
		start := time.Now()
		err := lane.ComposeUpLocal(t.Context(), s.cfg, nil, append(opts, counted)...)
		t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
		return err
	}
	latestID := func(name string) string {
		t.Helper()
		img, found, err := real.InspectImage(t.Context(), project+"/"+name+":latest")
		if err != nil || !found {
			t.Fatalf("%s:latest: found %v, %v", name, found, err)
		}
		return img.ID
	}
	running := func() map[string]string {
		t.Helper()
		list, err := s.client(t).ContainerList(t.Context(), client.ContainerListOptions{Filters: s.projectFilter()})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, c := range list.Items {
			ids[c.Labels[api.ServiceLabel]] = c.ImageID
		}
		return ids
	}

	// -nobuild with nothing built: refused before anything starts, naming the images.
	err = up("-nobuild, nothing built", lane.WithoutBuild())
	var missing *compose.MissingImageError
	if !errors.As(err, &missing) {
		t.Fatalf("ComposeUpLocal -nobuild = %v, want *compose.MissingImageError", err)
	}
	for _, want := range []string{project + "/core:latest (service core)", project + "/connector-webhook:latest", "without -nobuild"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := s.containers(t); len(got) != 0 || d.Builds.Load() != 0 {
		t.Errorf("-nobuild with missing images: containers %v, %d builds", got, d.Builds.Load())
	}

	// Default: what is missing is built first (base, core, connector-webhook), then started.
	if err := up("first up"); err != nil {
		t.Fatalf("first up: %v", err)
	}
	if got := strings.Join(d.Built(), " "); !strings.Contains(got, project+"/base:") || !strings.Contains(got, project+"/core:") ||
		!strings.Contains(got, project+"/connector-webhook:") || d.Builds.Load() != 3 {
		t.Errorf("first up built %v, want base, core and connector-webhook", got)
	}
	if strings.Contains(log.String(), "Step ") {
		t.Errorf("builder steps printed without Verbose:\n%s", log.String())
	}
	for svc, id := range running() {
		if want := latestID(svc); id != want {
			t.Errorf("%s runs %s, want %s", svc, id, want)
		}
	}

	// Up to date: nothing is built.
	if err := up("second up"); err != nil {
		t.Fatalf("second up: %v", err)
	}
	if d.Builds.Load() != 0 || d.Tags.Load() != 0 || !strings.Contains(log.String(), "images up to date: base, core, connector-webhook") {
		t.Errorf("second up: %d builds, %d tags:\n%s", d.Builds.Load(), d.Tags.Load(), log.String())
	}

	// An edited service is rebuilt, alone, and its container runs the new image.
	old := latestID("connector-webhook")
	appendLine(t, root, "services/connector-webhook/webhook/webhook.go", "\n// edited by the test\n")
	if err := up("up after an edit"); err != nil {
		t.Fatalf("up after an edit: %v", err)
	}
	if got := d.Built(); len(got) != 1 || !strings.HasPrefix(got[0], project+"/connector-webhook:") {
		t.Errorf("after editing connector-webhook, built %v", got)
	}
	rebuilt := latestID("connector-webhook")
	if rebuilt == old || running()["connector-webhook"] != rebuilt {
		t.Errorf("connector-webhook runs %s; the rebuilt image is %s (was %s)", running()["connector-webhook"], rebuilt, old)
	}

	// -nobuild after another edit: a warning naming the stale image and the fix; the image
	// that is there runs.
	appendLine(t, root, "services/connector-webhook/webhook/webhook.go", "\n// edited again\n")
	if err := up("-nobuild after an edit", lane.WithoutBuild()); err != nil {
		t.Fatalf("-nobuild after an edit: %v", err)
	}
	for _, want := range []string{
		"warning: connector-webhook: " + project + "/connector-webhook:latest (service connector-webhook) is out of date (",
		"fix: go run mage.go buildAllLocal -only=connector-webhook, or run composeUpLocal without -nobuild",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("-nobuild output lacks %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), "warning: core") || d.Builds.Load() != 0 {
		t.Errorf("-nobuild: %d builds, or core (up to date) warned about:\n%s", d.Builds.Load(), log.String())
	}
	if got := running()["connector-webhook"]; got != rebuilt || latestID("connector-webhook") != rebuilt {
		t.Errorf("-nobuild: connector-webhook runs %s, want the image that was there, %s", got, rebuilt)
	}
	s.down(t)
}

func TestComposeUpLocal(t *testing.T) {
	testenv.PlatformImages(t)
	s := newStack(t, nil)
	s.up(t)

	t.Run("core answers /healthz", func(t *testing.T) {
		resp, err := http.Get(s.url("core") + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /healthz: %s", resp.Status)
		}
	})

	t.Run("web serves its page, its version and /healthz", func(t *testing.T) {
		if got, want := s.url("web"), "http://127.0.0.1:"+s.env["WEB_PORT"]; got != want {
			t.Fatalf("web URL = %q, want %q (stdout %q)", got, want, s.stdout)
		}
		checkWeb(t, s.url("web"), webVersion(t, s.cfg.Root))
	})

	t.Run("a file in the inbox becomes a job", func(t *testing.T) {
		name := fmt.Sprintf("drop-%d.txt", rand.Uint64())
		tmp := filepath.Join(s.inbox, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte("hello from the inbox"), 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(s.inbox, name)); err != nil {
			t.Fatal(err)
		}
		job := s.waitJob(t, func(j job) bool { return j.Source == "fs:"+name })
		if job.Payload != "hello from the inbox" {
			t.Errorf("job payload = %q", job.Payload)
		}
		if job.Status != "unscanned" {
			t.Errorf("job status = %q, want unscanned without the scanner bundle", job.Status)
		}
	})

	t.Run("a webhook payload becomes a job", func(t *testing.T) {
		payload := fmt.Sprintf("webhook payload %d", rand.Uint64())
		s.postWebhook(t, payload)
		s.waitJob(t, func(j job) bool { return j.Source == "webhook" && j.Payload == payload })
	})

	t.Run("down removes the project and keeps the shared network", func(t *testing.T) {
		s.down(t)
	})
}

func TestComposeUpLocalWithScanner(t *testing.T) {
	testenv.PlatformImages(t)
	s := newStack(t, nil)
	s.up(t, "scanner")
	if _, ok := s.urls["scanner"]; !ok {
		t.Errorf("published URLs %v do not list the scanner", s.urls)
	}
	s.postWebhook(t, "this payload carries the EICAR marker")
	j := s.waitJob(t, func(j job) bool { return strings.Contains(j.Payload, "EICAR") })
	if j.Status != "scanned" || j.Verdict != "malicious" {
		t.Errorf("job = %+v, want scanned and malicious", j)
	}
	s.postWebhook(t, "a harmless payload")
	j = s.waitJob(t, func(j job) bool { return j.Payload == "a harmless payload" })
	if j.Verdict != "clean" {
		t.Errorf("job = %+v, want clean", j)
	}
	// Down loads every bundle, so the scanner goes too although down is not told about it.
	s.down(t)
}

// webVersion is the web component's version, as the components file reads it.
func webVersion(t *testing.T, root string) string {
	t.Helper()
	m, err := manifest.Load(root, manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Component("web")
	if c == nil || c.Image == nil || c.Image.Main != "" {
		t.Fatalf("the components file has no web component with an image and no main: %+v", c)
	}
	return c.Version
}

// checkWeb checks a running web image at base: GET / is the site's page, /version answers the
// component's version, /healthz is ok, HEAD works and other methods are refused.
func checkWeb(t *testing.T, base, version string) {
	t.Helper()
	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}
	resp, page := get(http.MethodGet, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<title>shiplane reference platform</title>") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / = %s (%s):\n%s", resp.Status, resp.Header.Get("Content-Type"), page)
	}
	resp, body := get(http.MethodGet, "/version")
	var info struct{ Name, Version string }
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != http.StatusOK || info.Name != "web" || info.Version != version {
		t.Errorf("GET /version = %s %q (%v), want web %s", resp.Status, body, err, version)
	}
	if resp, body := get(http.MethodGet, "/healthz"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) {
		t.Errorf("GET /healthz = %s %q", resp.Status, body)
	}
	if resp, body := get(http.MethodHead, "/"); resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("Content-Length") != fmt.Sprint(len(page)) {
		t.Errorf("HEAD / = %s, Content-Length %q, body %q; want 200, %d, none", resp.Status, resp.Header.Get("Content-Length"), body, len(page))
	}
	if resp, _ := get(http.MethodPost, "/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %s, want 405", resp.Status)
	}
	if resp, _ := get(http.MethodGet, "/VERSION"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /VERSION = %s, want 404: only site/ is served", resp.Status)
	}
}

// stack is one compose project of a test: its name, ports, inbox and lane configuration.
type stack struct {
	project string
	inbox   string
	env     map[string]string
	cfg     lane.Config
	stdout  *bytes.Buffer
	urls    map[string]string
	docker  *client.Client
	downed  bool
}

func newStack(t *testing.T, overrides map[string]string) *stack {
	t.Helper()
	inbox := t.TempDir()
	// The connectors run as a non-root user: it must be able to move files out of the inbox.
	if err := os.Chmod(inbox, 0o777); err != nil {
		t.Fatal(err)
	}
	project := fmt.Sprintf("sltest-%s-%d", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), rand.Uint32())
	env := map[string]string{
		"COMPOSE_PROJECT_NAME": project,
		"COMPOSE_INCLUDE":      "",
		"IMAGE_TAG":            "latest",
		"CORE_PORT":            freePort(t),
		"WEBHOOK_PORT":         freePort(t),
		"SCANNER_PORT":         freePort(t),
		"WEB_PORT":             freePort(t),
		"FS_INBOX":             inbox,
	}
	for k, v := range overrides {
		env[k] = v
	}
	s := &stack{project: project, inbox: inbox, env: env, stdout: &bytes.Buffer{}}
	s.cfg = lane.Config{
		Root:     testenv.RepoRoot(t),
		Getenv:   getenv(env),
		Progress: &testLog{t: t},
		Stdout:   s.stdout,
	}
	t.Cleanup(func() {
		if s.downed {
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if err := lane.ComposeDownLocal(ctx, s.cfg); err != nil {
			t.Errorf("cleaning up project %s: %v", project, err)
		}
	})
	return s
}

func (s *stack) up(t *testing.T, include ...string) {
	t.Helper()
	start := time.Now()
	if err := lane.ComposeUpLocal(t.Context(), s.cfg, include); err != nil {
		t.Fatalf("ComposeUpLocal: %v", err)
	}
	t.Logf("up in %s", time.Since(start).Round(time.Millisecond))
	s.urls = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s.stdout.String()), "\n") {
		svc, url, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("stdout line %q is not <service>: <url>", line)
		}
		s.urls[svc] = url
	}
	if got, want := s.urls["core"], "http://127.0.0.1:"+s.env["CORE_PORT"]; got != want {
		t.Errorf("core URL = %q, want %q (stdout %q)", got, want, s.stdout)
	}
}

func (s *stack) down(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := lane.ComposeDownLocal(t.Context(), s.cfg); err != nil {
		t.Fatalf("ComposeDownLocal: %v", err)
	}
	s.downed = true
	t.Logf("down in %s", time.Since(start).Round(time.Millisecond))
	if got := s.containers(t); len(got) != 0 {
		t.Errorf("containers left after down: %v", got)
	}
	c := s.client(t)
	vols, err := c.VolumeList(t.Context(), client.VolumeListOptions{Filters: s.projectFilter()})
	if err != nil {
		t.Fatal(err)
	}
	if len(vols.Items) != 0 {
		t.Errorf("volumes left after down: %v", vols.Items)
	}
	nets, err := c.NetworkList(t.Context(), client.NetworkListOptions{Filters: s.projectFilter()})
	if err != nil {
		t.Fatal(err)
	}
	if len(nets.Items) != 0 {
		t.Errorf("project networks left after down: %v", nets.Items)
	}
	shared := s.sharedNetworks(t)
	if len(shared) == 0 {
		t.Fatal("the compose files use no shared network")
	}
	for _, n := range shared {
		if _, err := c.NetworkInspect(t.Context(), n, client.NetworkInspectOptions{}); err != nil {
			t.Errorf("the shared network %s is gone after down: %v", n, err)
		}
	}
}

// sharedNetworks names the shared networks of the project with every bundle.
func (s *stack) sharedNetworks(t *testing.T) []string {
	t.Helper()
	m, err := manifest.Load(s.cfg.Root, manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	files, err := lane.ComposeFiles(m, m.BundleNames())
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		files[i] = filepath.Join(s.cfg.Root, filepath.FromSlash(f))
	}
	p, err := compose.Load(t.Context(), filepath.Dir(files[0]), files, compose.WithGetenv(s.cfg.Getenv))
	if err != nil {
		t.Fatal(err)
	}
	return p.SharedNetworks()
}

func (s *stack) client(t *testing.T) *client.Client {
	t.Helper()
	if s.docker == nil {
		c, err := client.New(client.FromEnv)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s.docker = c
	}
	return s.docker
}

func (s *stack) projectFilter() client.Filters {
	return make(client.Filters).Add("label", api.ProjectLabel+"="+s.project)
}

// containers lists the project's containers, stopped ones included.
func (s *stack) containers(t *testing.T) []string {
	t.Helper()
	list, err := s.client(t).ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: s.projectFilter()})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list.Items {
		out = append(out, strings.Join(c.Names, ",")+" ("+string(c.State)+")")
	}
	return out
}

func (s *stack) url(service string) string { return s.urls[service] }

func (s *stack) postWebhook(t *testing.T, payload string) {
	t.Helper()
	resp, err := http.Post(s.url("connector-webhook")+"/webhook", "text/plain", strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST /webhook: %s: %s", resp.Status, body)
	}
}

type job struct {
	ID      string `json:"id"`
	Source  string `json:"source"`
	Payload string `json:"payload"`
	Status  string `json:"status"`
	Verdict string `json:"verdict"`
	Error   string `json:"error"`
}

// waitJob polls core's GET /jobs until a job matches, for at most 30 s.
func (s *stack) waitJob(t *testing.T, match func(job) bool) job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url("core") + "/jobs")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(body)
			var jobs []job
			_ = json.Unmarshal(body, &jobs)
			for _, j := range jobs {
				if match(j) {
					return j
				}
			}
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no matching job in core after 30s; last GET /jobs: %s", last)
	return job{}
}

// getenv reads env first (an entry set to "" hides the process variable), then the process.
func getenv(env map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// testLog sends progress lines to the test log.
type testLog struct {
	mu  sync.Mutex
	t   *testing.T
	buf []byte
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.t.Log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}
