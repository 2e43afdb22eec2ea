package pipeline_test

import (
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/pipeline"
)

// TestValidateOnlyStillRefuses: a malformed file is refused by a validate-only load with the file
// and the line, as by a full one; a PGP message is not decrypted (gpg would refuse this one), so
// it does not stop the check.
func TestValidateOnlyStillRefuses(t *testing.T) {
	root := writeRoot(t, "verify:\n  - name: x\n    runn: true\n")
	_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly())
	if err == nil || !strings.Contains(err.Error(), "deploy/release.yaml:3") {
		t.Errorf("err = %v, want it to name deploy/release.yaml:3", err)
	}
	root = writeRoot(t, `vars:
  key: |
    -----BEGIN PGP MESSAGE-----
    bm90IGEgcmVhbCBtZXNzYWdl
    -----END PGP MESSAGE-----
verify:
  - name: uses it
    run: echo ${var!key}
`)
	if _, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly()); err != nil {
		t.Errorf("a validate-only load tried the PGP message: %v", err)
	}
}
