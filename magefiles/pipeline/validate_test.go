package pipeline_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/pipeline"
)

// TestValidateOnlyRunsNoCommand: a validate-only load checks the file and its env! and var!
// references, but runs no sh! command (the marker file is never created) and decrypts nothing.
func TestValidateOnlyRunsNoCommand(t *testing.T) {
	root := writeRoot(t, `vars:
  touched: sh!touch ran && echo ran
  key: |
    -----BEGIN PGP MESSAGE-----
    bm90IGEgcmVhbCBtZXNzYWdl
    -----END PGP MESSAGE-----
verify:
  - name: uses them
    run: echo ${var!touched} ${var!key} ${sh!touch ran-too} ${env!HOME}
`)
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly())
	if err != nil {
		t.Fatalf("validate-only load: %v", err)
	}
	if got := strings.Join(p.Names(), ","); got != "uses them" {
		t.Errorf("names = %q", got)
	}
	for _, f := range []string{"ran", "ran-too"} {
		if _, err := os.Stat(filepath.Join(root, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a validate-only load ran a sh! command (%s exists)", f)
		}
	}
}

// TestValidateOnlyStillRefuses: a malformed file and an unset env! variable are refused by a
// validate-only load with the file and the line, as by a full one.
func TestValidateOnlyStillRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"unknown key": {"verify:\n  - name: x\n    runn: true\n", "deploy/release.yaml:3"},
		"unset env":   {"verify:\n  - name: x\n    run: echo ${env!SHIPLANE_SURELY_UNSET}\n", "environment variable SHIPLANE_SURELY_UNSET is not set"},
	} {
		t.Run(name, func(t *testing.T) {
			root := writeRoot(t, tc.text)
			_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
