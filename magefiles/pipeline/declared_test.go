package pipeline_test

import (
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// TestDeclaredSecrets: secret!env!, secret!sh! and secret!var! values are secrets whatever their
// names and lengths: masked everywhere, and the environment variables read as secret!env! are kept
// out of goals' environments. The same values undeclared are not masked.
func TestDeclaredSecrets(t *testing.T) {
	root := writeRoot(t, `vars:
  plain_name: secret!env!SHIPLANE_T_VALUE
  from_sh: secret!sh!printf '%s' sh-declared-0001
  undeclared: sh!printf '%s' not-secret-0004
  both: ${var!undeclared}/${secret!var!undeclared}
verify:
  - name: shows them
    env:
      INLINE: "${secret!sh!printf '%s' inline-declared-0002}"
      SHORT: secret!env!SHIPLANE_T_SHORT
      BOTH: var!both
    run: |
      echo "value ${var!plain_name} sh ${var!from_sh} short $SHORT inline $INLINE"
      env | grep '^SHIPLANE_T_' | sort
`)
	var out strings.Builder
	locked := progress.Locked(&out)
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithProgress(locked),
		pipeline.WithEnviron(environ("SHIPLANE_T_VALUE=env-declared-0003", "SHIPLANE_T_SHORT=ab7", "SHIPLANE_T_OTHER=visible")))
	if err != nil {
		t.Fatal(err)
	}
	red := p.Redactor()
	for _, s := range []string{"env-declared-0003", "sh-declared-0001", "inline-declared-0002", "ab7"} {
		if got := red.String("<" + s + ">"); got != "<***>" {
			t.Errorf("the declared secret %q is not masked: %s", s, got)
		}
	}
	if err := goal.New(goal.WithProgress(red.Writer(locked))).Run(t.Context(), p.Nodes()).Err(); err != nil {
		t.Fatal(err)
	}
	want := "shows them | value *** sh *** short *** inline ***\nshows them | SHIPLANE_T_OTHER=visible\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("progress:\n%s\nwant it to hold:\n%s", out.String(), want)
	}
	// secret!var!undeclared declares the var's value: it is masked from then on.
	if got := red.String("not-secret-0004"); got != "***" {
		t.Errorf("secret!var! did not declare the value: %s", got)
	}
}

// TestUndeclaredValuesAreNotMasked: values behind ordinary names are shown.
func TestUndeclaredValuesAreNotMasked(t *testing.T) {
	root := writeRoot(t, "vars:\n  v: sh!printf '%s' not-secret-0005\n  e: env!SHIPLANE_T_VALUE\nverify:\n  - name: a\n    kind: capture\n    with: {v: var!v, e: var!e}\n")
	p := load(t, root, pipeline.WithEnviron(environ("SHIPLANE_T_VALUE=plain-0006")))
	if got := p.Redactor().String("not-secret-0005 plain-0006"); got != "not-secret-0005 plain-0006" {
		t.Errorf("over-masked: %s", got)
	}
}
