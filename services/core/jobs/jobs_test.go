package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

func newCore(t *testing.T, sc Scanner) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewHandler(svc.Info{Name: "core", Version: "1.2.0"}, &API{Store: NewStore(), Scanner: sc, Log: svc.DiscardLogger()}))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string) (int, Job) {
	t.Helper()
	resp, err := http.Post(url+"/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j Job
	if resp.StatusCode == http.StatusCreated {
		if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, j
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestJobsWithoutScanner(t *testing.T) {
	srv := newCore(t, nil)
	code, j := post(t, srv.URL, `{"source":"test","payload":"hello"}`)
	if code != 201 || j.ID == "" || j.Source != "test" || j.Payload != "hello" || j.Status != StatusUnscanned || j.Verdict != "" || j.Created.IsZero() {
		t.Fatalf("POST /jobs = %d %+v", code, j)
	}
	_, j2 := post(t, srv.URL, `{"source":"test","payload":"second"}`)

	var got Job
	if code := getJSON(t, srv.URL+"/jobs/"+j.ID, &got); code != 200 || got != j {
		t.Errorf("GET /jobs/%s = %d %+v, want %+v", j.ID, code, got, j)
	}
	var list []Job
	if code := getJSON(t, srv.URL+"/jobs", &list); code != 200 || len(list) != 2 || list[0].ID != j.ID || list[1].ID != j2.ID {
		t.Errorf("GET /jobs = %d %+v, want [%s %s]", code, list, j.ID, j2.ID)
	}
	if code := getJSON(t, srv.URL+"/jobs/nope", &got); code != 404 {
		t.Errorf("GET /jobs/nope = %d, want 404", code)
	}
}

func TestEmptyListIsArray(t *testing.T) {
	srv := newCore(t, nil)
	resp, err := http.Get(srv.URL + "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("GET /jobs on empty store = %q, want []", buf.String())
	}
}

func TestCreateRejectsBadRequests(t *testing.T) {
	srv := newCore(t, nil)
	for _, body := range []string{`{"payload":"x"}`, `{"source":" "}`, `not json`, `{"source":1}`} {
		if code, _ := post(t, srv.URL, body); code != 400 {
			t.Errorf("POST %s = %d, want 400", body, code)
		}
	}
	resp, err := http.Post(srv.URL+"/jobs", "application/json", strings.NewReader(`{"source":"x","payload":"`+strings.Repeat("a", svc.DefaultMaxBody)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized POST = %d, want 413", resp.StatusCode)
	}
}

// scannerServer speaks the scanner service's protocol.
func scannerServer(t *testing.T, fail bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/scan" {
			http.NotFound(w, r)
			return
		}
		if fail {
			svc.WriteError(w, 500, "engine exploded")
			return
		}
		var in struct{ Payload string }
		if !svc.DecodeJSON(w, r, 0, &in) {
			return
		}
		verdict := "clean"
		if strings.Contains(in.Payload, "EICAR") {
			verdict = "malicious"
		}
		svc.WriteJSON(w, 200, map[string]string{"verdict": verdict})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestJobsWithScanner(t *testing.T) {
	sc := scannerServer(t, false)
	srv := newCore(t, &HTTPScanner{URL: sc.URL + "/", Client: sc.Client()})

	if _, j := post(t, srv.URL, `{"source":"s","payload":"fine"}`); j.Status != StatusScanned || j.Verdict != "clean" || j.Error != "" {
		t.Errorf("clean job = %+v", j)
	}
	if _, j := post(t, srv.URL, `{"source":"s","payload":"X5O!P%@AP EICAR-TEST"}`); j.Status != StatusScanned || j.Verdict != "malicious" {
		t.Errorf("malicious job = %+v", j)
	}
}

func TestScannerFailure(t *testing.T) {
	for name, sc := range map[string]Scanner{
		"5xx":         &HTTPScanner{URL: scannerServer(t, true).URL, Client: http.DefaultClient},
		"unreachable": &HTTPScanner{URL: "http://127.0.0.1:1", Client: http.DefaultClient},
	} {
		srv := newCore(t, sc)
		code, j := post(t, srv.URL, `{"source":"s","payload":"p"}`)
		if code != 201 || j.Status != StatusScanFailed || j.Verdict != "" || j.Error == "" {
			t.Errorf("%s: POST = %d %+v, want 201 scan-failed with an error", name, code, j)
		}
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := NewStore()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := s.Add(Job{Source: fmt.Sprint(i)})
			if got, ok := s.Get(j.ID); !ok || got.Source != j.Source {
				t.Errorf("Get(%s) = %+v %v", j.ID, got, ok)
			}
			_ = s.List()
		}()
	}
	wg.Wait()
	list := s.List()
	ids := map[string]bool{}
	for i, j := range list {
		ids[j.ID] = true
		if i > 0 && j.Created.Before(list[i-1].Created) {
			t.Errorf("list not oldest first at %d", i)
		}
	}
	if len(list) != 50 || len(ids) != 50 {
		t.Errorf("got %d jobs with %d distinct IDs, want 50", len(list), len(ids))
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := ConfigFromEnv(svc.MapEnv(nil))
	if err != nil || cfg != (Config{Addr: ":8080", ScanTimeout: 5 * time.Second}) {
		t.Errorf("defaults = %+v, %v", cfg, err)
	}
	cfg, err = ConfigFromEnv(svc.MapEnv(map[string]string{"PORT": "9000", "SCANNER_URL": "http://scanner:8083", "SCAN_TIMEOUT": "1s"}))
	if err != nil || cfg != (Config{Addr: ":9000", ScannerURL: "http://scanner:8083", ScanTimeout: time.Second}) {
		t.Errorf("set = %+v, %v", cfg, err)
	}
	if _, err := ConfigFromEnv(svc.MapEnv(map[string]string{"SCAN_TIMEOUT": "x"})); err == nil {
		t.Error("bad SCAN_TIMEOUT: want error")
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, svc.Info{Name: "core", Version: "1.2.0"}, svc.MapEnv(map[string]string{"PORT": port}), svc.DiscardLogger())
	}()
	var info svc.Info
	for i := 0; i < 100 && info.Name == ""; i++ {
		time.Sleep(20 * time.Millisecond)
		if resp, err := http.Get("http://127.0.0.1:" + port + "/version"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
		}
	}
	if info != (svc.Info{Name: "core", Version: "1.2.0"}) {
		t.Errorf("GET /version = %+v", info)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
