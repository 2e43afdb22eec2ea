package sign_test

import (
	"encoding/base64"
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

// TestTokenWorkflowIdentityReadsJobWorkflowRef: the identity is the job_workflow_ref claim (a
// reusable workflow's own file), under the server URL; a token without it, or not a JWT, gives
// none. The tokens are made here (a fake of GitHub's, unsigned: only the claim is read).
func TestTokenWorkflowIdentityReadsJobWorkflowRef(t *testing.T) {
	jwt := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
	}
	called := "acme/pipelines/.github/workflows/release.yml@refs/heads/main"
	tok := jwt(`{"workflow_ref":"acme/shiplane/.github/workflows/ci.yml@refs/tags/v1.0.0","job_workflow_ref":"` + called + `","aud":"sigstore"}`)
	if got, ok := sign.TokenWorkflowIdentity(tok, "https://github.com/"); !ok || got != "https://github.com/"+called {
		t.Errorf("identity = %q, %v; want https://github.com/%s", got, ok, called)
	}
	for _, bad := range []string{jwt(`{"aud":"sigstore"}`), "not-a-token", jwt(`not json`)} {
		if got, ok := sign.TokenWorkflowIdentity(bad, "https://github.com"); ok {
			t.Errorf("TokenWorkflowIdentity(%q) = %q, want none", bad, got)
		}
	}
}
