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

// TestValidateOnlyRefusesAnUnsetVariable: an env! reference to an unset variable is refused by a
// validate-only load, with the file and the line, as a full load refuses it.
func TestValidateOnlyRefusesAnUnsetVariable(t *testing.T) {
	root := writeRoot(t, "verify:\n  - name: x\n    run: echo ${env!SHIPLANE_SURELY_UNSET}\n")
	_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly())
	if err == nil || !strings.Contains(err.Error(), "environment variable SHIPLANE_SURELY_UNSET is not set") || !strings.Contains(err.Error(), "deploy/release.yaml:3") {
		t.Errorf("err = %v, want the unset variable refused at deploy/release.yaml:3", err)
	}
}

// TestValidateOnlyLetsAnUnsetSecretBe: a variable declared secret!env! is the CI's to give, so a
// validate-only load (tagRelease or releasePlan on a laptop) does not need it; a full load does.
func TestValidateOnlyLetsAnUnsetSecretBe(t *testing.T) {
	root := writeRoot(t, "verify:\n  - name: x\n    run: echo ${secret!env!SHIPLANE_SURELY_UNSET_SECRET}\n")
	if _, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly()); err != nil {
		t.Errorf("a validate-only load refused an unset secret: %v", err)
	}
	if _, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ())); err == nil {
		t.Error("a full load accepted an unset secret")
	}
}
