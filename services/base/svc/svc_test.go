package svc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestEnv(t *testing.T) {
	env := MapEnv(map[string]string{"A": " x ", "BLANK": "  ", "D": "250ms", "BAD": "soon", "NEG": "-1s", "PORT": "9090"})
	if got := env.String("A", "def"); got != "x" {
		t.Errorf("String(A) = %q, want x", got)
	}
	if got := env.String("BLANK", "def"); got != "def" {
		t.Errorf("String(BLANK) = %q, want def", got)
	}
	if d, err := env.Duration("D", time.Second); err != nil || d != 250*time.Millisecond {
		t.Errorf("Duration(D) = %v, %v", d, err)
	}
	if d, err := env.Duration("UNSET", time.Second); err != nil || d != time.Second {
		t.Errorf("Duration(UNSET) = %v, %v", d, err)
	}
	for _, k := range []string{"BAD", "NEG"} {
		if _, err := env.Duration(k, time.Second); err == nil {
			t.Errorf("Duration(%s): want error", k)
		}
	}
	if a, err := env.Addr(8080); err != nil || a != ":9090" {
		t.Errorf("Addr = %q, %v", a, err)
	}
	if a, err := MapEnv(nil).Addr(8080); err != nil || a != ":8080" {
		t.Errorf("Addr default = %q, %v", a, err)
	}
	for _, v := range []string{"0", "65536", "http", "-5"} {
		if _, err := MapEnv(map[string]string{"PORT": v}).Port(1); err == nil {
			t.Errorf("Port(%q): want error", v)
		}
	}
}

func TestMux(t *testing.T) {
	srv := httptest.NewServer(NewMux(Info{Name: "core", Version: "1.2.0"}))
	defer srv.Close()

	for path, want := range map[string]string{
		"/healthz": `{"status":"ok"}`,
		"/version": `{"name":"core","version":"1.2.0"}`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != want {
			t.Errorf("GET %s = %d %s, want 200 %s", path, resp.StatusCode, body, want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s Content-Type = %q", path, ct)
		}
	}
	resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
}

func TestDecodeJSON(t *testing.T) {
	h := func(limit int64) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var v struct{ A string }
			if DecodeJSON(w, r, limit, &v) {
				WriteJSON(w, 200, v)
			}
		}
	}
	for _, tc := range []struct {
		body  string
		limit int64
		code  int
	}{
		{`{"A":"b"}`, 0, 200},
		{`{"A":`, 0, 400},
		{`{"A":"` + strings.Repeat("x", 100) + `"}`, 10, 413},
	} {
		rec := httptest.NewRecorder()
		h(tc.limit)(rec, httptest.NewRequest("POST", "/", strings.NewReader(tc.body)))
		if rec.Code != tc.code {
			t.Errorf("body %.20q: code %d, want %d (%s)", tc.body, rec.Code, tc.code, rec.Body)
		}
	}
}

func TestPostJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		if !DecodeJSON(w, r, 0, &in) {
			return
		}
		switch in["want"] {
		case "ok":
			WriteJSON(w, 201, map[string]string{"echo": in["want"]})
		case "bad":
			WriteError(w, 400, "no good")
		default:
			WriteError(w, 503, "down")
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	var out map[string]string
	if err := PostJSON(ctx, srv.Client(), srv.URL, map[string]string{"want": "ok"}, &out); err != nil || out["echo"] != "ok" {
		t.Fatalf("ok: %v %v", out, err)
	}
	err := PostJSON(ctx, srv.Client(), srv.URL, map[string]string{"want": "bad"}, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 400 || !se.Permanent() || !strings.Contains(se.Error(), "no good") {
		t.Fatalf("bad: %v", err)
	}
	err = PostJSON(ctx, srv.Client(), srv.URL, map[string]string{"want": "down"}, nil)
	if !errors.As(err, &se) || se.Code != 503 || se.Permanent() {
		t.Fatalf("down: %v", err)
	}
	if err := PostJSON(ctx, srv.Client(), "http://127.0.0.1:1/x", map[string]string{}, nil); err == nil {
		t.Fatal("unreachable: want error")
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	mux := NewMux(Info{Name: "t", Version: "0"})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		WriteJSON(w, 200, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, DiscardLogger(), ln, mux) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		var s string
		_ = json.NewDecoder(resp.Body).Decode(&s)
		got <- s
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if s := <-got; s != "done" {
		t.Errorf("in-flight request got %q, want done", s)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	if err := ListenAndServe(context.Background(), DiscardLogger(), "256.0.0.1:x", NewMux(Info{})); err == nil {
		t.Fatal("want error")
	}
}
