package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, leak string }{
		{`Get "https://robot:hunter2@registry.example/v2/": EOF`, "hunter2"},
		{`Get "https://robot@registry.example/v2/": EOF`, "robot"},
		{`parsing "robot:hunter2@registry.example/core:1": invalid`, "hunter2"},
		{`GET https://auth.example/token?scope=x&access_token=hunter2: 401`, "hunter2"},
		{`Authorization: Basic cm9ib3Q6aHVudGVyMg==`, "cm9ib3Q6aHVudGVyMg=="},
		{`header: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig`, "eyJhbGciOiJIUzI1NiJ9"},
	} {
		if got := redactText(c.in); strings.Contains(got, c.leak) {
			t.Errorf("redactText(%q) = %q still shows %q", c.in, got, c.leak)
		}
	}
	// Ordinary references are left alone.
	for _, s := range []string{
		"pushing to 127.0.0.1:5000/core:1.0.0: checking the tag",
		"localhost:5000/dev/core@sha256:0123456789abcdef",
	} {
		if got := redactText(s); got != s {
			t.Errorf("redactText(%q) = %q, want it unchanged", s, got)
		}
	}
	err := safe(fmt.Errorf("wrapped: %w", &AuthError{Registry: "r.example", Status: 401, Err: errors.New(`GET "https://u:p4ss@r.example/v2/"`)}))
	var ae *AuthError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "p4ss") {
		t.Errorf("safe: %v", err)
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}
	for try := 1; try <= DefaultRetry.Attempts-1; try++ {
		w := want[try-1]
		if got := DefaultRetry.Backoff(try); got < w || got > w+w/10 {
			t.Errorf("backoff after try %d = %s, want %s plus up to 10%%", try, got, w)
		}
	}
}

func TestSplitAPIPath(t *testing.T) {
	for _, c := range []struct{ in, repo, kind, rest string }{
		{"/v2/dev/core/blobs/uploads/", "dev/core", "blobs/uploads", ""},
		{"/v2/core/blobs/uploads/0123-uuid", "core", "blobs/uploads", "0123-uuid"},
		{"/v2/core/blobs/sha256:abc", "core", "blobs", "sha256:abc"},
		{"/v2/a/b/c/manifests/1.0.0", "a/b/c", "manifests", "1.0.0"},
	} {
		repo, kind, rest, ok := splitAPIPath(c.in)
		if !ok || repo != c.repo || kind != c.kind || rest != c.rest {
			t.Errorf("splitAPIPath(%q) = %q %q %q %v", c.in, repo, kind, rest, ok)
		}
	}
	if _, _, _, ok := splitAPIPath("/v2/"); ok {
		t.Error("/v2/ is not an API object path")
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:5000": true, "127.0.0.1:5000": true, "[::1]:5000": true, "localhost": true,
		"10.0.0.1:5000": false, "registry.example": false, "127.0.0.2:5000": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
