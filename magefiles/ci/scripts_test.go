package ci_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellScripts are the repository's bash scripts, relative to the root. scripts/bench is not run
// by the tests (it takes minutes and needs an idle machine); these checks are all CI does with it.
var shellScripts = []string{".ci/run", "scripts/bench", "scripts/readme-blocks", "scripts/setup-docker.sh"}

// checkScript runs bash -n on a script, then shellcheck when it is on PATH, and returns what each
// printed when it failed.
func checkScript(t *testing.T, path string) []string {
	t.Helper()
	var problems []string
	if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
		problems = append(problems, "bash -n: "+strings.TrimSpace(string(out)))
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(sc, path).CombinedOutput(); err != nil {
			problems = append(problems, "shellcheck:\n"+strings.TrimSpace(string(out)))
		}
	}
	return problems
}

func TestShellScriptsParse(t *testing.T) {
	root := repoRoot(t)
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not on PATH: bash -n only")
	}
	for _, s := range shellScripts {
		path := filepath.Join(root, filepath.FromSlash(s))
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v; fix: restore it, or drop it from shellScripts in %s", s, err, "magefiles/ci/scripts_test.go")
			continue
		}
		for _, p := range checkScript(t, path) {
			t.Errorf("%s: %s", s, p)
		}
	}
}

func TestShellScriptCheckFailsABrokenScript(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(path, []byte("#!/usr/bin/env bash\nif [ -n \"$1\" ]; then\n  echo unterminated\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	problems := checkScript(t, path)
	if len(problems) == 0 || !strings.HasPrefix(problems[0], "bash -n: ") {
		t.Fatalf("a script with an unterminated if passed: %q", problems)
	}
}
