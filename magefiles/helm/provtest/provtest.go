// Package provtest makes OpenPGP keys for tests of Helm provenance files, in memory: never a file
// of the repository.
package provtest

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// NewKey makes a fresh Ed25519 OpenPGP key for name: the ASCII-armored private key, what
// HELM_SIGNING_KEY holds (protected by passphrase unless it is ""), and the binary public
// keyring, what `gpg --export KEYID` writes and a repository commits as deploy/helm-keyring.gpg.
func NewKey(t testing.TB, name, passphrase string) (private string, keyring []byte) {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA}
	e, err := openpgp.NewEntity(name, "test", name+"@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	if err := e.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	if passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(passphrase), cfg); err != nil {
			t.Fatal(err)
		}
	}
	var priv bytes.Buffer
	w, err := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return priv.String(), pub.Bytes()
}
