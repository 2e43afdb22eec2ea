package pipeline_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
)

// TestGoalsRunWithoutPublishingCredentials: a goal's environment has no GITHUB_TOKEN, registry
// password, secret-looking variable or Docker config unless its env: asks for one; DOCKER_CONFIG
// is an empty directory made for the run and removed after it. sh! references still read the
// whole environment.
func TestGoalsRunWithoutPublishingCredentials(t *testing.T) {
	dockerConfig := t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(`{"auths":{"ghcr.io":{"auth":"dXNlcjpwdw=="}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{
		"GITHUB_TOKEN":         "ghp-credential-0001",
		"REGISTRY_PASSWORD":    "registry-credential-0002",
		"DOCKER_PASSWORD":      "docker-credential-0003",
		"NPM_API_KEY":          "npm-credential-0004",
		"DOCKER_AUTH_CONFIG":   `{"auths":{"credential-0005":{}}}`,
		"HELM_REGISTRY_CONFIG": "/credential-0006/registry.json",
		"DOCKER_CONFIG":        dockerConfig,
	}
	env := environ("SHIPLANE_T_PLAIN=kept")
	for k, v := range creds {
		env = append(env, k+"="+v)
	}
	root := writeRoot(t, `vars:
  seen_by_sh: sh!printf '%s' "$GITHUB_TOKEN"
verify:
  - name: by default
    run: |
      env > default.env
      printf '%s' "$DOCKER_CONFIG" > docker-config.txt
      test -d "$DOCKER_CONFIG"
      ls -A "$DOCKER_CONFIG" > docker-config.ls
      echo '{}' > "$DOCKER_CONFIG/config.json" # as docker login would
  - name: declared
    env:
      GITHUB_TOKEN: env!GITHUB_TOKEN
      DOCKER_CONFIG: env!DOCKER_CONFIG
      FROM_SH: var!seen_by_sh
    run: |
      printf '%s' "$GITHUB_TOKEN" > declared-token.txt
      printf '%s' "$DOCKER_CONFIG" > declared-docker-config.txt
      printf '%s' "$FROM_SH" > from-sh.txt
  - name: captured
    kind: capture
    env: {DOCKER_CONFIG: /declared}
  - name: captured default
    kind: capture
`)
	p := load(t, root, pipeline.WithEnviron(env))
	if err := goal.New().Run(t.Context(), p.Nodes()).Err(); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	got := read("default.env")
	for k, v := range creds {
		if strings.Contains(got, v) {
			t.Errorf("the goal's environment holds %s:\n%s", k, got)
		}
	}
	for _, k := range []string{"GITHUB_TOKEN", "REGISTRY_PASSWORD", "DOCKER_PASSWORD", "NPM_API_KEY", "DOCKER_AUTH_CONFIG"} {
		if strings.Contains("\n"+got, "\n"+k+"=") {
			t.Errorf("the goal's environment sets %s:\n%s", k, got)
		}
	}
	for _, want := range []string{"\nSHIPLANE_T_PLAIN=kept\n", "\nPATH="} {
		if !strings.Contains("\n"+got, want) {
			t.Errorf("the goal's environment lacks %q:\n%s", want, got)
		}
	}
	dir := read("docker-config.txt")
	if dir == "" || dir == dockerConfig || read("docker-config.ls") != "" {
		t.Errorf("DOCKER_CONFIG = %q holding %q, want a new empty directory", dir, read("docker-config.ls"))
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the goal's DOCKER_CONFIG %s is still there after the run (%v)", dir, err)
	}

	// Outside Achieve (a kind starts no command there) the Docker config is nowhere.
	for name, want := range map[string]string{"captured": "/declared", "captured default": os.DevNull} {
		var got []string
		for _, kv := range capturedSpec(t, name).Environ() {
			if strings.HasPrefix(kv, "DOCKER_CONFIG=") {
				got = append(got, kv)
			}
		}
		if len(got) != 1 || got[0] != "DOCKER_CONFIG="+want {
			t.Errorf("%s: Environ() has %q, want DOCKER_CONFIG=%s once", name, got, want)
		}
	}

	if read("declared-token.txt") != creds["GITHUB_TOKEN"] || read("declared-docker-config.txt") != dockerConfig ||
		read("from-sh.txt") != creds["GITHUB_TOKEN"] {
		t.Errorf("declared: token %q, DOCKER_CONFIG %q, from sh! %q", read("declared-token.txt"),
			read("declared-docker-config.txt"), read("from-sh.txt"))
	}
}

// TestGuessedNamesPassPwdAuthPat: variables named like DB_PASS, MYSQL_PWD, NPM_AUTH, GITHUB_PAT
// and GPG_PRIVATE are masked and kept out of the goals' environment; PATH, OLDPWD, AUTHOR_NAME,
// PATTERN and PASSTHROUGH are neither.
func TestGuessedNamesPassPwdAuthPat(t *testing.T) {
	secret := map[string]string{
		"DB_PASS": "db-pass-0001", "MYSQL_PWD": "mysql-pwd-0002", "NPM_AUTH": "npm-auth-0003",
		"GITHUB_PAT": "github-pat-0004", "GPG_PRIVATE": "gpg-private-0005", "OAUTH_ID": "oauth-id-0006",
	}
	ordinary := map[string]string{
		"OLDPWD": "/old-pwd-0007", "AUTHOR_NAME": "author-name-0008", "PATTERN": "pattern-0009",
		"PASSTHROUGH": "passthrough-0010", "GIT_ASKPASS": "/usr/bin/askpass-0011",
	}
	env := environ()
	for _, m := range []map[string]string{secret, ordinary} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	root := writeRoot(t, "verify:\n  - name: guessed names\n    kind: capture\n")
	p := load(t, root, pipeline.WithEnviron(env))
	red := p.Redactor()
	got := "\n" + strings.Join(capturedSpec(t, "guessed names").Environ(), "\n") + "\n"
	for k, v := range secret {
		if m := red.String("<" + v + ">"); m != "<***>" {
			t.Errorf("%s is not masked: %s", k, m)
		}
		if strings.Contains(got, "\n"+k+"=") {
			t.Errorf("the goal's environment sets %s", k)
		}
	}
	for k, v := range ordinary {
		if m := red.String(v); m != v {
			t.Errorf("%s is masked: %s", k, m)
		}
		if !strings.Contains(got, "\n"+k+"="+v+"\n") {
			t.Errorf("the goal's environment lacks %s", k)
		}
	}
	if !strings.Contains(got, "\nPATH="+os.Getenv("PATH")+"\n") {
		t.Error("the goal's environment lacks PATH")
	}
}
