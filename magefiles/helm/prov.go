package helm

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/provenance"
	"sigs.k8s.io/yaml"
)

// Helm provenance (.prov) files: a clearsigned OpenPGP message holding the chart's Chart.yaml
// metadata, a line "...", and the sha256 of the chart archive, as `helm package --sign` writes
// them and `helm verify --keyring` reads them (helm.sh/helm/v3/pkg/provenance).

// ProvSuffix is what a chart archive's provenance file adds to its name.
const ProvSuffix = ".prov"

var (
	// ErrProvKey: the OpenPGP private key cannot sign (not an armored private key, a wrong
	// passphrase, or a key that cannot make signatures).
	ErrProvKey = errors.New("unusable OpenPGP signing key")
	// ErrProvKeyring: the keyring is not a binary OpenPGP keyring (what `gpg --export` writes).
	ErrProvKeyring = errors.New("not an OpenPGP keyring")
	// ErrProvMalformed: the .prov file is not a clearsigned Helm provenance message.
	ErrProvMalformed = errors.New("not a Helm provenance file")
	// ErrProvSignature: the .prov file's signature is not by a key of the keyring, or its text
	// was changed after signing.
	ErrProvSignature = errors.New("provenance signature does not verify with the keyring")
	// ErrProvDigest: the .prov file is signed, but for other chart archive bytes (or another
	// file name).
	ErrProvDigest = errors.New("provenance is for another chart archive")
)

// provConfig is the OpenPGP configuration of a signature: helm's (SHA-512), at a fixed time and
// without the random salt notation, so that an RSA or EdDSA key signs the same archive at the
// same time with the same bytes, as gpg does.
func provConfig(at time.Time) *packet.Config {
	deterministic := false
	return &packet.Config{DefaultHash: crypto.SHA512, Time: func() time.Time { return at },
		NonDeterministicSignaturesViaNotation: &deterministic}
}

// ProvSigner signs chart archives with an OpenPGP private key held in memory (never written to
// disk).
type ProvSigner struct {
	entity *openpgp.Entity
}

// NewProvSigner reads an ASCII-armored OpenPGP private key (what `gpg --armor
// --export-secret-keys` writes), decrypting it with passphrase when it is protected. It signs
// with the primary key, as `helm package --sign` does. A key that cannot be read, unlocked or
// sign with is ErrProvKey.
func NewProvSigner(armored, passphrase []byte) (*ProvSigner, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("%w: reading an armored private key: %v", ErrProvKey, err)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			if len(passphrase) == 0 {
				return nil, fmt.Errorf("%w: the key is protected by a passphrase, and none was given", ErrProvKey)
			}
			if err := e.PrivateKey.Decrypt(passphrase); err != nil {
				return nil, fmt.Errorf("%w: unlocking the key: %v", ErrProvKey, err)
			}
		}
		if !e.PrimaryKey.CanSign() {
			return nil, fmt.Errorf("%w: its primary key cannot sign", ErrProvKey)
		}
		return &ProvSigner{entity: e}, nil
	}
	return nil, fmt.Errorf("%w: no private key in it (a public key only?)", ErrProvKey)
}

// Fingerprint is the signing key's fingerprint in upper-case hex, as gpg prints it.
func (s *ProvSigner) Fingerprint() string {
	return strings.ToUpper(hex.EncodeToString(s.entity.PrimaryKey.Fingerprint))
}

// InKeyring reports whether the keyring (binary, what `gpg --export` writes) holds the signer's
// public key. A keyring that does not parse is ErrProvKeyring.
func (s *ProvSigner) InKeyring(keyring []byte) (bool, error) {
	ring, err := ReadKeyring(keyring)
	if err != nil {
		return false, err
	}
	for _, e := range ring {
		if bytes.Equal(e.PrimaryKey.Fingerprint, s.entity.PrimaryKey.Fingerprint) {
			return true, nil
		}
	}
	return false, nil
}

// ReadKeyring reads a binary OpenPGP keyring, as `helm verify --keyring` does. One that does not
// parse, or holds no key, is ErrProvKeyring.
func ReadKeyring(keyring []byte) (openpgp.EntityList, error) {
	ring, err := openpgp.ReadKeyRing(bytes.NewReader(keyring))
	if err != nil {
		return nil, fmt.Errorf("%w: %v (it must be binary, as `gpg --export KEYID` writes it, not armored)", ErrProvKeyring, err)
	}
	if len(ring) == 0 {
		return nil, fmt.Errorf("%w: it holds no key", ErrProvKeyring)
	}
	return ring, nil
}

// Sign is the provenance file of the chart archive tgz published as name (the base name
// `helm verify` is given: "core-1.2.0.tgz"), signed at time at (so the same key signs the same
// archive at the same time with the same bytes), or at the key's creation time when at is earlier
// (a signature may not predate its key), or now when at is later. The message is helm's: the archive's
// Chart.yaml metadata as YAML, "...", and the archive's sha256 under files.
func (s *ProvSigner) Sign(name string, tgz []byte, at time.Time) ([]byte, error) {
	msg, err := provMessage(name, tgz)
	if err != nil {
		return nil, err
	}
	if created := s.entity.PrimaryKey.CreationTime; at.Before(created) {
		at = created
	}
	if now := time.Now(); at.After(now) {
		at = now // a signature from the future does not verify until then
	}
	var out bytes.Buffer
	w, err := clearsign.Encode(&out, s.entity.PrivateKey, provConfig(at.UTC().Truncate(time.Second)))
	if err != nil {
		return nil, fmt.Errorf("signing the provenance of %s: %w", name, err)
	}
	if _, err := w.Write(msg); err != nil {
		return nil, fmt.Errorf("signing the provenance of %s: %w", name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("signing the provenance of %s: %w", name, err)
	}
	return out.Bytes(), nil
}

// provMessage is the text helm's provenance.Signatory.ClearSign signs for the archive at name:
// yaml(Chart.yaml metadata) "\n...\n" yaml(files: {name: sha256:<hex>}).
func provMessage(name string, tgz []byte) ([]byte, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("reading chart archive %s: %w", name, err)
	}
	md, err := yaml.Marshal(ch.Metadata)
	if err != nil {
		return nil, fmt.Errorf("writing the metadata of %s: %w", name, err)
	}
	sum := sha256.Sum256(tgz)
	sums, err := yaml.Marshal(&provenance.SumCollection{Files: map[string]string{filepath.Base(name): "sha256:" + hex.EncodeToString(sum[:])}})
	if err != nil {
		return nil, err
	}
	msg := append(md, "\n...\n"...)
	return append(msg, sums...), nil
}

// ProvVerification is what a verified provenance file says.
type ProvVerification struct {
	// Signer is the signing key's primary identity ("Name <email>"), "" when it has none.
	Signer string
	// Fingerprint is the signing key's fingerprint, upper-case hex.
	Fingerprint string
	// SHA256 is the archive's digest the file names: "sha256:<hex>".
	SHA256 string
}

// VerifyProv checks prov, the provenance file of the chart archive tgz published as name, against
// keyring (binary), as `helm verify --keyring` does: the signature is by a key of the keyring and
// the file lists name with tgz's sha256. It classifies what is wrong (ErrProvKeyring,
// ErrProvMalformed, ErrProvSignature, ErrProvDigest), then has helm's own
// provenance.Signatory.Verify agree (on copies of the public bytes in a temporary folder).
func VerifyProv(keyring []byte, name string, tgz, prov []byte) (ProvVerification, error) {
	var v ProvVerification
	ring, err := ReadKeyring(keyring)
	if err != nil {
		return v, err
	}
	block, _ := clearsign.Decode(prov)
	if block == nil {
		return v, fmt.Errorf("%s%s: %w: no clearsigned message in it", name, ProvSuffix, ErrProvMalformed)
	}
	signer, err := openpgp.CheckDetachedSignature(ring, bytes.NewReader(block.Bytes), block.ArmoredSignature.Body, provConfig(time.Now()))
	if err != nil {
		return v, fmt.Errorf("%s%s: %w: %v", name, ProvSuffix, ErrProvSignature, err)
	}
	v.Fingerprint = strings.ToUpper(hex.EncodeToString(signer.PrimaryKey.Fingerprint))
	if id := signer.PrimaryIdentity(); id != nil {
		v.Signer = id.Name
	}
	parts := bytes.SplitN(block.Plaintext, []byte("\n...\n"), 2)
	var sums provenance.SumCollection
	if len(parts) != 2 || yaml.Unmarshal(parts[1], &sums) != nil {
		return v, fmt.Errorf("%s%s: %w: no files section after the chart's metadata", name, ProvSuffix, ErrProvMalformed)
	}
	sum := sha256.Sum256(tgz)
	want := "sha256:" + hex.EncodeToString(sum[:])
	got, ok := sums.Files[filepath.Base(name)]
	switch {
	case !ok:
		return v, fmt.Errorf("%s%s: %w: it lists no file named %s", name, ProvSuffix, ErrProvDigest, filepath.Base(name))
	case got != want:
		return v, fmt.Errorf("%s%s: %w: it lists %s for %s, the archive is %s", name, ProvSuffix, ErrProvDigest, got, filepath.Base(name), want)
	}
	v.SHA256 = want
	if err := helmVerify(ring, name, tgz, prov); err != nil {
		return v, fmt.Errorf("%s%s: %w: helm's verification: %v", name, ProvSuffix, ErrProvSignature, err)
	}
	return v, nil
}

// helmVerify runs helm's provenance.Signatory.Verify, which reads files: the archive and its
// provenance (public bytes) are written to a temporary folder, removed afterwards.
func helmVerify(ring openpgp.EntityList, name string, tgz, prov []byte) error {
	dir, err := os.MkdirTemp("", "shiplane-prov-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	chart := filepath.Join(dir, filepath.Base(name))
	if err := os.WriteFile(chart, tgz, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(chart+ProvSuffix, prov, 0o600); err != nil {
		return err
	}
	sig := &provenance.Signatory{KeyRing: ring}
	_, err = sig.Verify(chart, chart+ProvSuffix)
	return err
}
