package lane_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/helm/provtest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// releaseAssets is the fake GitHub release's assets by name.
func (f *noopRelease) releaseAssets(t *testing.T) map[string]githubtest.Asset {
	t.Helper()
	rels := f.gh.Releases()
	if len(rels) != 1 {
		t.Fatalf("GitHub holds %d releases", len(rels))
	}
	out := map[string]githubtest.Asset{}
	for _, a := range rels[0].Assets {
		out[a.Name] = a
	}
	return out
}

// deleteAsset deletes a release asset through the GitHub API, as `gh release delete-asset` does.
func (f *noopRelease) deleteAsset(t *testing.T, name string) {
	t.Helper()
	a, ok := f.releaseAssets(t)[name]
	if !ok {
		t.Fatalf("no asset %s", name)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, fmt.Sprintf("%srepos/bench/shiplane/releases/assets/%d", f.gh.URL(), a.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+noopToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("deleting %s: %s", name, resp.Status)
	}
}

// replaceAsset puts content in place of the release's asset name (deleted, then uploaded again).
func (f *noopRelease) replaceAsset(t *testing.T, name string, content []byte) {
	t.Helper()
	f.deleteAsset(t, name)
	f.gh.SeedAsset(f.gh.Releases()[0].ID, githubtest.Asset{Name: name, Content: content})
}

// verify runs VerifyRelease as a consumer would: the tag, the repository, the committed keys.
func (f *noopRelease) verify(t *testing.T, opts lane.VerifyOptions) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := map[string]string{"GITHUB_REPOSITORY": "bench/shiplane", "GITHUB_API_URL": f.gh.URL(), "GITHUB_TOKEN": noopToken}
	cfg := lane.Config{Root: f.root, Getenv: func(k string) string { return env[k] }, Stdout: &out, Progress: &out}
	err := lane.VerifyRelease(t.Context(), cfg, "v1.0.0", opts)
	return out.String(), err
}

// helmCLI runs the real helm client, built from our module graph (go.mod's tool directive).
func helmCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"tool", "helm"}, args...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestReleaseHelmProvenance: with deploy/helm-keyring.gpg committed and HELM_SIGNING_KEY set, the
// release attaches <chart>-<version>.tgz.prov beside each chart archive, listed in SHA256SUMS,
// and the helm CLI verifies each downloaded archive with the keyring (and refuses an edited one).
// A re-run uploads nothing; a .prov deleted from the release comes back with the same bytes; a
// foreign .prov is refused and left alone; verifyRelease fails naming the .prov removed or
// edited; releaseAll refuses before any write without the key, or with a key not in the keyring.
func TestReleaseHelmProvenance(t *testing.T) {
	key, ring := provtest.NewKey(t, "Chart Signer", "")
	f := newNoopReleaseWith(t, 3, 2, nil, noopOptions{helmKeyring: ring, helmKey: key})
	ctx := t.Context()
	if f.gh.Writes() == 0 || f.charts != 3 {
		t.Fatalf("the first release wrote %d times, %d charts", f.gh.Writes(), f.charts)
	}
	assets := f.releaseAssets(t)
	sums := string(assets["SHA256SUMS"].Content)
	dir := t.TempDir()
	ringFile := filepath.Join(dir, "helm-keyring.gpg")
	if err := os.WriteFile(ringFile, ring, 0o644); err != nil {
		t.Fatal(err)
	}
	var charts []string
	provs := map[string][]byte{}
	for name, a := range assets {
		if !strings.HasSuffix(name, ".tgz") {
			continue
		}
		charts = append(charts, name)
		p, ok := assets[name+".prov"]
		if !ok {
			t.Fatalf("no %s.prov among %v", name, assets)
		}
		provs[name] = p.Content
		if !strings.Contains(sums, "  "+name+".prov\n") {
			t.Errorf("SHA256SUMS does not list %s.prov:\n%s", name, sums)
		}
		// The customer's check: helm verify on the downloaded files.
		tgz := filepath.Join(dir, name)
		os.WriteFile(tgz, a.Content, 0o644)
		os.WriteFile(tgz+".prov", p.Content, 0o644)
		if out, err := helmCLI(t, "verify", tgz, "--keyring", ringFile); err != nil || !strings.Contains(out, "Signed by: Chart Signer") {
			t.Fatalf("helm verify %s: %v\n%s", name, err, out)
		}
		edited := append(append([]byte(nil), a.Content[:len(a.Content)-1]...), a.Content[len(a.Content)-1]^1)
		os.WriteFile(tgz, edited, 0o644)
		if out, err := helmCLI(t, "verify", tgz, "--keyring", ringFile); err == nil || !strings.Contains(out, "sha256 sum does not match") {
			t.Errorf("helm verify accepted an edited %s: %v\n%s", name, err, out)
		}
	}
	if len(charts) != f.charts {
		t.Fatalf("%d chart archives on the release, want %d", len(charts), f.charts)
	}

	// A re-run writes nothing.
	if _, c, err := f.run(ctx, 0); err != nil || c.writes() != 0 {
		t.Fatalf("re-run: %v, %d writes\n%s", err, c.writes(), f.out)
	}
	out, err := f.verify(t, lane.VerifyOptions{})
	if err != nil || strings.Count(out, "Helm provenance signed by Chart Signer") != f.charts {
		t.Fatalf("verifyRelease: %v\n%s", err, out)
	}

	// A .prov removed: verifyRelease names it; releaseAll puts back the same bytes.
	chart := charts[0]
	f.deleteAsset(t, chart+".prov")
	_, err = f.verify(t, lane.VerifyOptions{})
	if !hasProblem(err, chart+".prov", "missing from the release", nil) {
		t.Errorf("verifyRelease without %s.prov: %v", chart, err)
	}
	if _, _, err := f.run(ctx, 0); err != nil {
		t.Fatalf("completing the release: %v\n%s", err, f.out)
	}
	after := f.releaseAssets(t)
	if !bytes.Equal(after[chart+".prov"].Content, provs[chart]) || string(after["SHA256SUMS"].Content) != sums {
		t.Errorf("the .prov made again differs from the first (or SHA256SUMS changed)")
	}

	// A foreign .prov (another key's) on a release to complete (another .prov missing): refused,
	// named, left alone, and nothing uploaded; verifyRelease names it. (A complete release is
	// decided by its asset names and SHA256SUMS, and not rewritten.)
	otherKey, _ := provtest.NewKey(t, "Someone Else", "")
	other, err := helm.NewProvSigner([]byte(otherKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Sign(chart, assets[chart].Content, f.ws.Head.Time)
	if err != nil {
		t.Fatal(err)
	}
	f.replaceAsset(t, chart+".prov", foreign)
	f.deleteAsset(t, charts[1]+".prov")
	_, c, err := f.run(ctx, 0)
	var mm *publish.ReleaseMismatchError
	if !errors.As(err, &mm) || len(mm.Differs) != 1 || mm.Differs[0].Name != chart+".prov" || !strings.Contains(err.Error(), "delete "+chart+".prov") {
		t.Fatalf("a foreign .prov: %v, want a *publish.ReleaseMismatchError naming %s.prov\n%s", err, chart, f.out)
	}
	if c.writes() != 0 || !bytes.Equal(f.releaseAssets(t)[chart+".prov"].Content, foreign) {
		t.Errorf("the foreign .prov was touched (%d writes)", c.writes())
	}
	_, err = f.verify(t, lane.VerifyOptions{})
	if !hasProblem(err, chart+".prov", "", helm.ErrProvSignature) {
		t.Errorf("verifyRelease with a foreign .prov: %v", err)
	}
	// An edited one (its text changed after signing) likewise.
	f.replaceAsset(t, chart+".prov", bytes.Replace(provs[chart], []byte("description: "), []byte("description: x"), 1))
	if _, err = f.verify(t, lane.VerifyOptions{}); !hasProblem(err, chart+".prov", "", helm.ErrProvSignature) {
		t.Errorf("verifyRelease with an edited .prov: %v", err)
	}
	f.replaceAsset(t, chart+".prov", provs[chart])
	if _, _, err := f.run(ctx, 0); err != nil {
		t.Fatalf("completing the release: %v\n%s", err, f.out)
	}
	if out, err := f.verify(t, lane.VerifyOptions{HelmKeyring: ringFile}); err != nil {
		t.Fatalf("verifyRelease -keyring: %v\n%s", err, out)
	}

	// Without HELM_SIGNING_KEY, or with a key not in the keyring: refused before any write, and
	// the key never printed; releasePlan says so in one line.
	for _, tc := range []struct{ name, key, want string }{
		{"unset", "", "HELM_SIGNING_KEY is not set"},
		{"another key", otherKey, "is not in deploy/helm-keyring.gpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.env["HELM_SIGNING_KEY"] = tc.key
			defer func() { f.env["HELM_SIGNING_KEY"] = key }()
			_, c, err := f.run(ctx, 0)
			var sr *lane.SigningRefusal
			if !errors.As(err, &sr) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "fix:") {
				t.Fatalf("releaseAll: %v, want a *lane.SigningRefusal saying %q\n%s", err, tc.want, f.out)
			}
			if c.writes() != 0 {
				t.Errorf("a refused release wrote %d times", c.writes())
			}
			if tc.key != "" && strings.Contains(f.out.String(), strings.Split(tc.key, "\n")[3]) {
				t.Errorf("the key leaked into the output")
			}
		})
	}
	f.env["HELM_SIGNING_KEY"] = ""
	f.out.Reset()
	if err := lane.ReleasePlan(ctx, f.config(0)); err != nil {
		t.Fatalf("releasePlan without HELM_SIGNING_KEY: %v\n%s", err, f.out)
	}
	if out := f.out.String(); strings.Count(out, "helm provenance:") != 1 || !strings.Contains(out, "helm provenance: not assessed here (HELM_SIGNING_KEY is not set); releaseAll attaches 3 .prov file(s)") {
		t.Errorf("releasePlan without HELM_SIGNING_KEY:\n%s", out)
	}
	f.env["HELM_SIGNING_KEY"] = key
	f.out.Reset()
	if err := lane.ReleasePlan(ctx, f.config(0)); err != nil || !strings.Contains(f.out.String(), "helm provenance: 3 .prov file(s), one per chart, signed by ") {
		t.Errorf("releasePlan: %v\n%s", err, f.out)
	}
}

// hasProblem reports whether err is a *lane.ReleaseVerifyError with a problem about artifact
// whose text holds problem and whose cause is cause (when not nil).
func hasProblem(err error, artifact, problem string, cause error) bool {
	var re *lane.ReleaseVerifyError
	if !errors.As(err, &re) {
		return false
	}
	for _, p := range re.Problems {
		if p.Artifact == artifact && strings.Contains(p.Problem, problem) && (cause == nil || errors.Is(p.Err, cause)) {
			return true
		}
	}
	return false
}
