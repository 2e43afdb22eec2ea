package github

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUploadURLFollowsTheAPIURL(t *testing.T) {
	for _, tc := range []struct{ base, api, upload string }{
		{"https://api.github.com", "https://api.github.com/", "https://uploads.github.com/"},
		{"https://api.github.com/", "https://api.github.com/", "https://uploads.github.com/"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/uploads/"},
		{"https://ghe.example.com:8443/api/v3/", "https://ghe.example.com:8443/api/v3/", "https://ghe.example.com:8443/api/uploads/"},
		{"https://api.acme.ghe.com", "https://api.acme.ghe.com/", "https://uploads.acme.ghe.com/"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"https://user:pass@ghe.example.com/api/v3?x=1#f", "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/uploads/"},
	} {
		base, _, err := parseAPIURL(tc.base)
		if err != nil {
			t.Fatalf("%s: %v", tc.base, err)
		}
		if got := base.String(); got != tc.api {
			t.Errorf("%s: API %s, want %s", tc.base, got, tc.api)
		}
		if got := uploadURLFor(base).String(); got != tc.upload {
			t.Errorf("%s: uploads %s, want %s", tc.base, got, tc.upload)
		}
	}
	c, err := New("acme/shiplane", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.api.BaseURL() != DefaultBaseURL || c.api.UploadURL() != "https://uploads.github.com/" {
		t.Fatalf("defaults: %s %s", c.api.BaseURL(), c.api.UploadURL())
	}
}

// The token's encoded forms are masked by the shared redactor (redact.TestRedactorCoversGitHubForms);
// here, the token's own type never prints it.
func TestSecretNeverPrinted(t *testing.T) {
	tok := "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	if s := fmt.Sprintf("%v %+v %#v %s", secret(tok), secret(tok), secret(tok), secret(tok)); strings.Contains(s, tok) || s != "*** *** *** ***" {
		t.Fatalf("secret printed: %s", s)
	}
}

func TestRateLimitWait(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	resp := func(code int, h map[string]string, body string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		r       *http.Response
		wait    time.Duration
		limited bool
	}{
		{"retry-after seconds", resp(429, map[string]string{"Retry-After": "7"}, ""), 7 * time.Second, true},
		{"retry-after date", resp(403, map[string]string{"Retry-After": now.Add(3 * time.Second).UTC().Format(http.TimeFormat)}, ""), 3 * time.Second, true},
		{"primary reset", resp(403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(now.Unix() + 10)}, ""), 11 * time.Second, true},
		{"bare 429", resp(429, nil, ""), time.Minute, true},
		{"secondary by documentation_url", resp(403, nil, `{"message":"slow down","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`), time.Minute, true},
		{"permission", resp(403, nil, `{"message":"Resource not accessible by integration"}`), 0, false},
	} {
		wait, limited := rateLimitWait(tc.r, now)
		if wait != tc.wait || limited != tc.limited {
			t.Errorf("%s: %s %v, want %s %v", tc.name, wait, limited, tc.wait, tc.limited)
		}
		if b, _ := io.ReadAll(tc.r.Body); tc.name == "permission" && !strings.Contains(string(b), "Resource not accessible") {
			t.Errorf("%s: body not put back: %q", tc.name, b)
		}
	}
}
