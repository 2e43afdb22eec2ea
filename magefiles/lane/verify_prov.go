package lane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// helmKeyring is the OpenPGP keyring verifyRelease checks the release's Helm .prov files with.
type helmKeyring struct {
	file string // as given or set: what the output names
	data []byte
}

// readHelmKeyring reads file (relative to root unless absolute), else the settings' helm_keyring.
// The settings' file missing means nothing to check (nil, nil); a named one missing, or a file
// that is not a binary keyring, is an error.
func readHelmKeyring(root, file string, s settings.Settings) (*helmKeyring, error) {
	named := file != ""
	if !named {
		file = s.HelmKeyring
	}
	if file == "" {
		return nil, nil
	}
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !named:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the Helm keyring %s: %w (pass -keyring=<file>, what gpg --export KEYID writes)", file, err)
	}
	if _, err := helm.ReadKeyring(data); err != nil {
		return nil, fmt.Errorf("the Helm keyring %s: %w", file, err)
	}
	return &helmKeyring{file: file, data: data}, nil
}

// checkHelmProv checks, when there is a keyring, that every chart archive (*.tgz) on the release
// has a .prov beside it that verifies with the keyring for the archive's bytes, as
// `helm verify <chart>.tgz --keyring <file>` does (read downloads each archive once). Without a keyring it says, once, that .prov files are not checked.
func (r *verification) checkHelmProv(d github.ReleaseDetail, read func(string) ([]byte, bool, error)) error {
	var charts []string
	provs := 0
	for _, a := range d.Assets {
		switch {
		case strings.HasSuffix(a.Name, ".tgz"):
			charts = append(charts, a.Name)
		case strings.HasSuffix(a.Name, ".tgz"+helm.ProvSuffix):
			provs++
		}
	}
	sort.Strings(charts)
	kr := r.v.helmKeyring
	if kr == nil {
		if provs > 0 {
			fmt.Fprintf(r.v.progress, "note: the release's %d .prov file(s) are not checked: no Helm keyring (pass -keyring=<file>)\n", provs)
		}
		return nil
	}
	for _, name := range charts {
		prov := name + helm.ProvSuffix
		tgz, ok, err := read(name)
		if err != nil {
			return err
		}
		if !ok {
			continue // listed a moment ago; SHA256SUMS reports what is gone
		}
		sig, ok, err := read(prov)
		if err != nil {
			return err
		}
		if !ok {
			r.fail(VerifyProblem{Artifact: prov, Problem: "missing from the release: chart " + name + " has no Helm provenance",
				Fix: fmt.Sprintf("helm verify %s --keyring %s fails: do not install it from this release; ask the publisher to re-run releaseAll", name, kr.file)})
			continue
		}
		v, err := helm.VerifyProv(kr.data, name, tgz, sig)
		if err != nil {
			r.fail(VerifyProblem{Artifact: prov, Problem: err.Error(), Fix: provFix(err, name, kr.file), Err: err})
			continue
		}
		signer := v.Fingerprint
		if v.Signer != "" {
			signer = v.Signer + " " + v.Fingerprint
		}
		r.pass(name, fmt.Sprintf("Helm provenance signed by %s (%s), %s", signer, kr.file, v.SHA256))
	}
	return nil
}

// provFix says what a .prov that does not verify means for a user of the chart.
func provFix(err error, chart, keyring string) string {
	switch {
	case errors.Is(err, helm.ErrProvDigest):
		return "it is for other bytes than " + chart + " on the release: the archive or the .prov was replaced; do not install it"
	case errors.Is(err, helm.ErrProvSignature):
		return "no key of " + keyring + " signed it as it is (edited, or another key): do not install " + chart
	}
	return "helm verify " + chart + " --keyring " + keyring + " fails: do not install it"
}
