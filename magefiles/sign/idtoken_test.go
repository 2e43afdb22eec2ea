package sign_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shiplane/shiplane/magefiles/sign"
)

// TestGitHubIDTokenFakeActionsServer: the token request GitHub Actions answers, served by a fake
// (the real endpoint exists only inside a runner).
func TestGitHubIDTokenFakeActionsServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer request-token" || r.URL.Query().Get("audience") != "sigstore" ||
			r.URL.Query().Get("api-version") != "2.0" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		_, _ = w.Write([]byte(`{"value":"the.id.token"}`))
	}))
	defer srv.Close()
	tok, err := sign.GitHubIDToken(t.Context(), srv.Client(), srv.URL+"/token?api-version=2.0", "request-token")
	if err != nil || tok != "the.id.token" {
		t.Fatalf("GitHubIDToken = %q, %v", tok, err)
	}
	if _, err := sign.GitHubIDToken(t.Context(), srv.Client(), srv.URL+"/token?api-version=2.0", "wrong"); err == nil {
		t.Error("a refused request gave a token")
	}
	if _, err := sign.GitHubIDToken(t.Context(), nil, "", ""); !errors.Is(err, sign.ErrNoIDToken) {
		t.Errorf("err = %v, want ErrNoIDToken", err)
	}
	if _, err := sign.NewKeylessSigner(""); !errors.Is(err, sign.ErrBadKey) {
		t.Errorf("NewKeylessSigner(\"\") err = %v, want ErrBadKey", err)
	}
}
