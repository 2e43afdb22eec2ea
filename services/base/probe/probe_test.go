package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
		err  bool
	}{
		{nil, nil, "http://127.0.0.1:8080/healthz", false},
		{nil, map[string]string{"PORT": "8083"}, "http://127.0.0.1:8083/healthz", false},
		{[]string{"http://x:1/ready"}, map[string]string{"PORT": "8083"}, "http://x:1/ready", false},
		{nil, map[string]string{"PORT": "nope"}, "", true},
		{[]string{"a", "b"}, nil, "", true},
	} {
		got, err := Target(tc.args, svc.MapEnv(tc.env))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Target(%v, %v) = %q, %v; want %q (err %v)", tc.args, tc.env, got, err, tc.want, tc.err)
		}
	}
}

func TestCheck(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(200)
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	if err := Check(ctx, srv.Client(), srv.URL+"/healthz"); err != nil {
		t.Errorf("healthy: %v", err)
	}
	if err := Check(ctx, srv.Client(), srv.URL+"/down"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("unhealthy: %v", err)
	}
	if err := Check(ctx, srv.Client(), "http://127.0.0.1:1/healthz"); err == nil {
		t.Error("refused: want error")
	}
	start := time.Now()
	if err := Check(ctx, srv.Client(), srv.URL+"/slow"); err == nil {
		t.Error("slow: want error")
	}
	if d := time.Since(start); d > Timeout+time.Second {
		t.Errorf("slow probe took %v, want about %v", d, Timeout)
	}
}
