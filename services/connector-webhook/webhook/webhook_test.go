package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

// fakeCore records submitted jobs and answers like core.
type fakeCore struct {
	mu   sync.Mutex
	jobs []map[string]string
	down bool
}

func (c *fakeCore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/jobs" {
		http.NotFound(w, r)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		svc.WriteError(w, 503, "core is down")
		return
	}
	var in map[string]string
	if !svc.DecodeJSON(w, r, 0, &in) {
		return
	}
	c.jobs = append(c.jobs, in)
	svc.WriteJSON(w, 201, map[string]string{"id": "j1", "source": in["source"], "payload": in["payload"], "status": "unscanned"})
}

func setup(t *testing.T, coreURL string) *httptest.Server {
	t.Helper()
	f := &Forwarder{CoreURL: coreURL, Client: &http.Client{Timeout: 2 * time.Second}, Log: svc.DiscardLogger()}
	srv := httptest.NewServer(NewHandler(svc.Info{Name: "connector-webhook", Version: "0.3.0"}, f))
	t.Cleanup(srv.Close)
	return srv
}

func TestForward(t *testing.T) {
	core := &fakeCore{}
	coreSrv := httptest.NewServer(core)
	defer coreSrv.Close()
	srv := setup(t, coreSrv.URL+"/")

	resp, err := http.Post(srv.URL+"/webhook", "application/json", strings.NewReader(`{"event":"push"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var job map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || job["id"] != "j1" || job["source"] != "webhook" || job["payload"] != `{"event":"push"}` {
		t.Errorf("POST /webhook = %d %v", resp.StatusCode, job)
	}
	if len(core.jobs) != 1 || core.jobs[0]["source"] != Source {
		t.Errorf("core got %v", core.jobs)
	}
}

func TestCoreFailureIs502(t *testing.T) {
	core := &fakeCore{down: true}
	coreSrv := httptest.NewServer(core)
	defer coreSrv.Close()
	for name, url := range map[string]string{"5xx": coreSrv.URL, "unreachable": "http://127.0.0.1:1"} {
		srv := setup(t, url)
		resp, err := http.Post(srv.URL+"/webhook", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "submitting to core") {
			t.Errorf("%s: POST /webhook = %d %s, want 502 with a message", name, resp.StatusCode, body)
		}
	}
}

func TestOnlyPost(t *testing.T) {
	srv := setup(t, "http://127.0.0.1:1")
	resp, err := http.Get(srv.URL + "/webhook")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook = %d, want 405", resp.StatusCode)
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := ConfigFromEnv(svc.MapEnv(nil))
	if err != nil || cfg != (Config{Addr: ":8082", CoreURL: DefaultCoreURL, Timeout: 10 * time.Second}) {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
	cfg, err = ConfigFromEnv(svc.MapEnv(map[string]string{"PORT": "9", "CORE_URL": "http://c:1"}))
	if err != nil || cfg.Addr != ":9" || cfg.CoreURL != "http://c:1" {
		t.Errorf("set = %+v, %v", cfg, err)
	}
}
