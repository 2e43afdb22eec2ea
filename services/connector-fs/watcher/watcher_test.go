package watcher

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

// fakeCore records jobs; code is the status it answers with.
type fakeCore struct {
	mu   sync.Mutex
	jobs []map[string]string
	code int
}

func (c *fakeCore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Method != "POST" || r.URL.Path != "/jobs" {
		http.NotFound(w, r)
		return
	}
	if c.code != 0 && c.code != 201 {
		svc.WriteError(w, c.code, "nope")
		return
	}
	var in map[string]string
	if !svc.DecodeJSON(w, r, 0, &in) {
		return
	}
	c.jobs = append(c.jobs, in)
	svc.WriteJSON(w, 201, map[string]string{"id": strconv.Itoa(len(c.jobs))})
}

func (c *fakeCore) set(code int) { c.mu.Lock(); c.code = code; c.mu.Unlock() }

func (c *fakeCore) sources() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, j := range c.jobs {
		out = append(out, j["source"]+"="+j["payload"])
	}
	return out
}

func setup(t *testing.T) (*Watcher, *fakeCore, string) {
	t.Helper()
	core := &fakeCore{}
	srv := httptest.NewServer(core)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	w := &Watcher{Dir: dir, Submit: &CoreClient{URL: srv.URL, Client: srv.Client()}, Log: svc.DiscardLogger()}
	return w, core, dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func poll(t *testing.T, w *Watcher, want int) {
	t.Helper()
	n, err := w.Poll(context.Background())
	if err != nil || n != want {
		t.Fatalf("Poll = %d, %v; want %d", n, err, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSubmitsAndMoves(t *testing.T) {
	w, core, dir := setup(t)
	write(t, filepath.Join(dir, "a.txt"), "alpha")
	write(t, filepath.Join(dir, ".partial"), "ignored")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, ".partial"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	poll(t, w, 1)
	if got := core.sources(); !equal(got, []string{"fs:a.txt=alpha"}) {
		t.Fatalf("core got %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ProcessedDir, "a.txt")); err != nil {
		t.Errorf("a.txt not moved into processed/: %v", err)
	}
	poll(t, w, 0)

	// A second a.txt is new work and does not overwrite the processed one.
	write(t, filepath.Join(dir, "a.txt"), "again")
	poll(t, w, 1)
	if b, err := os.ReadFile(filepath.Join(dir, ProcessedDir, "a.txt.1")); err != nil || string(b) != "again" {
		t.Errorf("processed/a.txt.1 = %q, %v", b, err)
	}
	if got := core.sources(); len(got) != 2 {
		t.Errorf("core got %v", got)
	}
}

func TestRemembersWhenItCannotMove(t *testing.T) {
	w, core, dir := setup(t)
	// A file where processed/ should be makes the move fail, even as root.
	write(t, filepath.Join(dir, ProcessedDir), "in the way")
	write(t, filepath.Join(dir, "b.txt"), "bravo")
	poll(t, w, 1)
	poll(t, w, 0)
	poll(t, w, 0)
	if got := core.sources(); !equal(got, []string{"fs:b.txt=bravo"}) {
		t.Fatalf("core got %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.txt")); err != nil {
		t.Fatalf("b.txt should stay: %v", err)
	}
	n := len(core.sources())

	// Once the file is gone its name is forgotten: a new b.txt is new work.
	if err := os.Remove(filepath.Join(dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	poll(t, w, 0)
	write(t, filepath.Join(dir, "b.txt"), "bravo 2")
	poll(t, w, 1)
	if got := core.sources(); len(got) != n+1 || got[n] != "fs:b.txt=bravo 2" {
		t.Errorf("core got %v", got)
	}
}

func TestRetriesFailedSubmits(t *testing.T) {
	w, core, dir := setup(t)
	core.set(503)
	write(t, filepath.Join(dir, "c.txt"), "charlie")
	poll(t, w, 0)
	poll(t, w, 0)
	core.set(201)
	poll(t, w, 1)
	if got := core.sources(); !equal(got, []string{"fs:c.txt=charlie"}) {
		t.Errorf("core got %v", got)
	}
}

func TestRetriesWhenCoreUnreachable(t *testing.T) {
	dir := t.TempDir()
	w := &Watcher{Dir: dir, Submit: &CoreClient{URL: "http://127.0.0.1:1", Client: http.DefaultClient}, Log: svc.DiscardLogger()}
	write(t, filepath.Join(dir, "d.txt"), "delta")
	poll(t, w, 0)
	if w.seen["d.txt"] {
		t.Error("an unreachable core must not mark the file as seen")
	}
}

func TestDoesNotRetryRejectedFiles(t *testing.T) {
	w, core, dir := setup(t)
	core.set(413)
	write(t, filepath.Join(dir, "e.txt"), "echo")
	poll(t, w, 0)
	core.set(201)
	poll(t, w, 0)
	if got := core.sources(); len(got) != 0 {
		t.Errorf("core got %v, want nothing", got)
	}
}

func TestMissingDir(t *testing.T) {
	w, _, dir := setup(t)
	w.Dir = filepath.Join(dir, "missing")
	if _, err := w.Poll(context.Background()); err == nil {
		t.Error("want error")
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := ConfigFromEnv(svc.MapEnv(nil))
	want := Config{Addr: ":8081", WatchDir: "/inbox", PollInterval: 500 * time.Millisecond, CoreURL: "http://core:8080", Timeout: 10 * time.Second}
	if err != nil || cfg != want {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
	if _, err := ConfigFromEnv(svc.MapEnv(map[string]string{"POLL_INTERVAL": "often"})); err == nil {
		t.Error("bad POLL_INTERVAL: want error")
	}
}

func TestRun(t *testing.T) {
	core := &fakeCore{}
	srv := httptest.NewServer(core)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f.txt"), "foxtrot")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		env := svc.MapEnv(map[string]string{"PORT": port, "WATCH_DIR": dir, "POLL_INTERVAL": "20ms", "CORE_URL": srv.URL})
		done <- Run(ctx, svc.Info{Name: "connector-fs"}, env, svc.DiscardLogger())
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(core.sources()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	healthy := false
	for !healthy && time.Now().Before(deadline) {
		if resp, err := http.Get("http://127.0.0.1:" + port + "/healthz"); err == nil {
			healthy = resp.StatusCode == 200
			resp.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if got := core.sources(); !equal(got, []string{"fs:f.txt=foxtrot"}) || !healthy {
		t.Errorf("core got %v, healthy %v", got, healthy)
	}
}
