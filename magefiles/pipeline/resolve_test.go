package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/pipeline"
)

// TestResolution loads entries of the capture kind and checks what each reference became.
func TestResolution(t *testing.T) {
	const file = `vars:
  plain: -count=1
  number: 3
  home: env!SHIPLANE_T_HOME
  optional: env!SHIPLANE_T_UNSET?
  defaulted: env!SHIPLANE_T_UNSET?fallback ${var!plain}
  set_default: env!SHIPLANE_T_HOME?ignored
  commit: sh!printf 'abc123\n\n'
  nested: sh!echo ${var!plain}-${env!SHIPLANE_T_HOME}
  braces: ${sh!echo '{x}' | tr -d x}
  composed: "[${var!commit}] ${var!number}"
  from_file: sh!cat marker.txt
  unused: sh!exit 1
verify:
  - name: r1
    kind: capture
    run: go test ${var!plain} "${HOME}" $(pwd) $$ $${var!plain} ${!prefix*} ${var!composed}
    env:
      A: var!nested
      B: ${var!braces}/${var!optional}/${var!defaulted}
      C: env!SHIPLANE_T_HOME
      D: "literal sh ! text"
    with:
      commit: var!commit
      set_default: var!set_default
      from_file: var!from_file
      inline: x${sh!echo y}z
`
	root := writeRoot(t, file)
	if err := os.WriteFile(filepath.Join(root, "marker.txt"), []byte("in the root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ("SHIPLANE_T_HOME=/home/t")))
	if err != nil {
		t.Fatal(err)
	}
	s := capturedSpec(t, "r1")
	want := map[string]string{
		"run":              `go test ${SHIPLANE_VALUE_1:+"${SHIPLANE_VALUE_1}"} "${HOME}" $(pwd) $$ ${var!plain} ${!prefix*} ${SHIPLANE_VALUE_2:+"${SHIPLANE_VALUE_2}"}`,
		"env.A":            "-count=1-/home/t",
		"env.B":            "{}//fallback -count=1",
		"env.C":            "/home/t",
		"env.D":            "literal sh ! text",
		"with.commit":      "abc123",
		"with.set_default": "/home/t",
		"with.from_file":   "in the root",
		"with.inline":      "xyz",
	}
	got := map[string]string{"run": s.Run}
	for k, v := range s.Env {
		got["env."+k] = v
	}
	for k, v := range s.With {
		got["with."+k] = v
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	if s.Kind != "capture" || s.Line != 15 || s.File != pipeline.DefaultFile {
		t.Errorf("spec = %+v", s)
	}
	environ := strings.Join(s.Environ(), "\n")
	if !strings.Contains(environ, "\nC=/home/t") || !strings.Contains(environ, "PATH=") ||
		!strings.HasSuffix(environ, "\nSHIPLANE_VALUE_1=-count=1\nSHIPLANE_VALUE_2=[abc123] 3") {
		t.Errorf("environ = %s", environ)
	}
}

// TestSecretNamesAreMasked: values behind secret-looking names are masked, short ones are not.
func TestSecretNamesAreMasked(t *testing.T) {
	const file = `vars:
  db_password: sh!echo pw-from-command
  auth: "user:${env!API_TOKEN}"
  plain: sh!echo not-secret
verify:
  - name: s1
    kind: capture
    env:
      NPM_TOKEN: literal-npm-token
      AUTH: var!auth
      PW: var!db_password
      PLAIN: var!plain
`
	root := writeRoot(t, file)
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile,
		pipeline.WithEnviron(environ("API_TOKEN=tok-123456", "USE_KEYRING=1", "SIGNING_KEY=true", "OTHER_SECRET=from-env-only")))
	if err != nil {
		t.Fatal(err)
	}
	red := p.Redactor()
	for _, s := range []string{"pw-from-command", "tok-123456", "user:tok-123456", "literal-npm-token", "from-env-only"} {
		if got := red.String("<" + s + ">"); got != "<***>" {
			t.Errorf("%q is not masked: %s", s, got)
		}
	}
	if got := red.String("not-secret 1 true"); got != "not-secret 1 true" {
		t.Errorf("over-masked: %s", got)
	}
}
