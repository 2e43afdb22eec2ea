package lane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// helmProv is how one release signs its charts' Helm provenance files (<chart>-<version>.tgz.prov
// beside each chart archive on the GitHub release, what `helm verify --keyring` checks). It is on
// when the settings' helm_keyring file is committed, and signs with HELM_SIGNING_KEY, in memory.
type helmProv struct {
	// keyringFile is the settings' helm_keyring; keyring its bytes, nil when it is not committed
	// (then no .prov is made).
	keyringFile string
	keyring     []byte
	signer      *helm.ProvSigner
	// refusal, when set, refuses the release before any write (no signer then).
	refusal error
	// absent is HELM_SIGNING_KEY unset: it refuses releaseAll, while releasePlan says so.
	absent error
	// at is the signatures' time: the release commit's committer time.
	at time.Time
}

// openHelmProv reads the committed keyring and HELM_SIGNING_KEY. What cannot sign is a
// *SigningRefusal kept for the plan, never an error that stops it.
func (w *Workspace) openHelmProv() (*helmProv, error) {
	h := &helmProv{keyringFile: w.Settings.HelmKeyring, at: w.Head.Time}
	ring, err := os.ReadFile(w.Path(h.keyringFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return h, nil
	case err != nil:
		return nil, fmt.Errorf("reading the Helm provenance keyring %s: %w", h.keyringFile, err)
	}
	h.keyring = ring
	if _, err := helm.ReadKeyring(ring); err != nil {
		h.refusal = &SigningRefusal{Problem: fmt.Sprintf("%s: %v", h.keyringFile, err),
			Fix: fmt.Sprintf("commit the binary public keyring: gpg --export KEYID > %s (RELEASING.md, Signing)", h.keyringFile), Err: err}
		return h, nil
	}
	if w.Env.HelmSigningKey == "" {
		h.absent = &SigningRefusal{Problem: "HELM_SIGNING_KEY is not set",
			Fix: fmt.Sprintf("set HELM_SIGNING_KEY to the armored OpenPGP private key whose public key is in %s (RELEASING.md, Signing), or remove %s to release charts without .prov files", h.keyringFile, h.keyringFile)}
		return h, nil
	}
	signer, err := helm.NewProvSigner([]byte(w.Env.HelmSigningKey), []byte(w.Env.HelmSigningPassphrase))
	if err != nil {
		h.refusal = &SigningRefusal{Problem: "HELM_SIGNING_KEY: " + err.Error(),
			Fix: "set HELM_SIGNING_KEY to what gpg --armor --export-secret-keys KEYID prints, and HELM_SIGNING_PASSPHRASE to its passphrase if it has one", Err: err}
		return h, nil
	}
	in, err := signer.InKeyring(ring)
	if err != nil {
		return nil, err // it parsed above
	}
	if !in {
		h.refusal = &SigningRefusal{Problem: fmt.Sprintf("HELM_SIGNING_KEY's key %s is not in %s", signer.Fingerprint(), h.keyringFile),
			Fix: fmt.Sprintf("set HELM_SIGNING_KEY to the private key of a key in %s, or add its public key there (gpg --export KEYID > %s; users verify with it)", h.keyringFile, h.keyringFile)}
		return h, nil
	}
	h.signer = signer
	return h, nil
}

// planInput is the plan's view: off without a keyring, unassessed without the key.
func (h *helmProv) planInput() *plan.HelmProv {
	if h == nil {
		return nil
	}
	hp := &plan.HelmProv{Keyring: h.keyringFile, Off: h.keyring == nil}
	switch {
	case h.absent != nil:
		hp.Unassessed = h.absent.(*SigningRefusal).Problem
	case h.signer != nil:
		hp.Signer = h.signer.Fingerprint()
	}
	return hp
}

// signs reports whether the release makes .prov assets (it refuses when it cannot sign them).
func (h *helmProv) signs() bool { return h != nil && h.keyring != nil }

// prov is the .prov asset of the chart archive published as name with the bytes tgz: the one the
// release already holds when it verifies with the keyring for these bytes (the release's assets
// never change once uploaded), else a new signature. One that is there and does not verify is
// foreign: a *publish.ReleaseMismatchError naming it, never overwritten.
func (h *helmProv) prov(ctx context.Context, cache *publish.Caching, tag, name string, tgz []byte) ([]byte, error) {
	if h.signer == nil {
		return nil, errors.New("the release has no Helm provenance signer: no .prov can be made")
	}
	asset := name + helm.ProvSuffix
	d, err := cache.ReleaseDetail(ctx, tag)
	if err != nil {
		return nil, err
	}
	if a, ok := d.Asset(asset); ok && a.Uploaded() {
		old, err := cache.AssetContent(ctx, a)
		if err != nil {
			return nil, err
		}
		_, verr := helm.VerifyProv(h.keyring, name, tgz, old)
		if verr == nil {
			return old, nil
		}
		return nil, &publish.ReleaseMismatchError{Tag: tag, Repo: d.Repo, URL: d.HTMLURL,
			Differs: []publish.AssetDiff{{Name: asset, Why: fmt.Sprintf("it does not verify with %s for %s as released: %v", h.keyringFile, name, verr)}}}
	}
	return h.signer.Sign(name, tgz, h.at)
}

// helmProv is the release's Helm provenance signing (nil for a lane that does not sign).
func (s *releaseSigning) helmProv() *helmProv {
	if s == nil {
		return nil
	}
	return s.helm
}
