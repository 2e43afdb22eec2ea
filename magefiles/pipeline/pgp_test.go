package pipeline_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// gpgHome makes a keyring in a temp GNUPGHOME with a passphrase-less key for release@example.invalid
// and returns the environment that selects it. Without gpg the test is skipped, or fails when
// CI=true.
func gpgHome(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and gpg is required (apt-get install gnupg): %v", err)
		}
		t.Skipf("gpg is not installed (apt-get install gnupg; CI=true makes this a failure): %v", err)
	}
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	env := environ("GNUPGHOME=" + home)
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = env
		_ = kill.Run()
		os.RemoveAll(home)
	})
	gpg(t, env, "", "--batch", "--passphrase", "", "--quick-gen-key", "shiplane test <release@example.invalid>", "future-default", "default", "never")
	return env
}

func gpg(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("gpg", args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix) + "\n"
}

// TestPGPSecret encrypts a secret with real gpg, has a goal use the decrypted value, and checks
// that neither it nor its base64 or URL-escaped forms reach the progress output, the report or
// an error.
func TestPGPSecret(t *testing.T) {
	env := gpgHome(t)
	nonce := make([]byte, 8)
	rand.Read(nonce)
	secret := "s3cr3t-" + hex.EncodeToString(nonce) + " ?>~&/"
	armored := gpg(t, env, secret+"\n", "--batch", "--trust-model", "always", "--armor", "--encrypt", "--recipient", "release@example.invalid")
	forms := map[string]string{
		"raw":    secret,
		"b64":    base64.StdEncoding.EncodeToString([]byte(secret)),
		"b64url": base64.URLEncoding.EncodeToString([]byte(secret)),
		"query":  url.QueryEscape(secret),
		"path":   url.PathEscape(secret),
		"rawb64": base64.RawStdEncoding.EncodeToString([]byte(secret)),
	}
	if forms["b64"] == forms["b64url"] {
		t.Fatalf("test bug: the secret's std and URL base64 forms are the same")
	}
	// The encodings reach the script through variables whose names do not look secret.
	for k, v := range forms {
		env = append(env, "FORM_"+strings.ToUpper(k)+"="+v)
	}

	release := "vars:\n  signing: |\n" + indent(armored, "    ") + `verify:
  - name: uses the secret
    env: {SIGNING: var!signing}
    run: |
      printf '%s' "$SIGNING" > used.txt
      echo "raw: $SIGNING"
      echo "stderr: $SIGNING" >&2
      for v in $(env | grep '^FORM_' | cut -d= -f1); do printf '%s: %s\n' "$v" "$(printenv "$v")"; done
      echo "inline: ${var!signing}"
  - name: fails loudly
    after: [uses the secret]
    run: echo "failing with $SIGNING" >&2; exit 5
    env: {SIGNING: "${var!signing}"}
`
	root := writeRoot(t, release)
	var out bytes.Buffer
	locked := progress.Locked(&out)
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(env), pipeline.WithProgress(locked))
	if err != nil {
		t.Fatal(err)
	}
	rep := goal.New(goal.WithProgress(p.Redactor().Writer(locked))).Run(t.Context(), p.Nodes())

	used, err := os.ReadFile(filepath.Join(root, "used.txt"))
	if err != nil || string(used) != secret {
		t.Fatalf("the goal did not get the decrypted value: %q, %v", used, err)
	}
	res := results(rep)
	if res["uses the secret"].Status != goal.NewlyAchieved || res["fails loudly"].Status != goal.Failed {
		t.Fatalf("results: %+v", rep.Results)
	}
	var report bytes.Buffer
	if err := rep.WriteJSON(&report); err != nil {
		t.Fatal(err)
	}
	log := out.String()
	if n := strings.Count(log, "***"); n < len(forms)+3 {
		t.Errorf("expected every form masked (%d masks):\n%s", n, log)
	}
	for name, f := range forms {
		for what, text := range map[string]string{"progress": log, "report": report.String(), "error": rep.Err().Error()} {
			if strings.Contains(text, f) {
				t.Errorf("the %s form of the secret appears in the %s:\n%s", name, what, text)
			}
		}
	}

	// A failing sh! that prints the secret, and whose command holds it, shows neither.
	root2 := writeRoot(t, "vars:\n  signing: |\n"+indent(armored, "    ")+
		"  probe: sh!echo \"cannot use ${var!signing}\" >&2; exit 4\nverify:\n  - name: x\n    run: echo ${var!probe}\n")
	_, err = pipeline.Load(t.Context(), root2, pipeline.DefaultFile, pipeline.WithEnviron(env))
	if err == nil || !strings.Contains(err.Error(), "stderr: cannot use ***") {
		t.Fatalf("err = %v", err)
	}
	for name, f := range forms {
		if strings.Contains(err.Error(), f) {
			t.Errorf("the %s form of the secret appears in the error: %v", name, err)
		}
	}
}

// TestPGPWithoutKey: a message nobody here can decrypt is a located error naming gpg.
func TestPGPWithoutKey(t *testing.T) {
	env := gpgHome(t)
	armored := gpg(t, env, "x\n", "--batch", "--trust-model", "always", "--armor", "--encrypt", "--recipient", "release@example.invalid")
	other := gpgHome(t) // an empty keyring but for its own key
	root := writeRoot(t, "vars:\n  k: |\n"+indent(armored, "    ")+"verify:\n  - name: a\n    run: echo ${var!k}\n")
	_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(other))
	var ce *pipeline.CommandError
	var pe *pipeline.Error
	if !errors.As(err, &ce) || ce.ExitCode != 2 || !errors.As(err, &pe) || pe.Line != 2 || pe.Var != "k" {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}
