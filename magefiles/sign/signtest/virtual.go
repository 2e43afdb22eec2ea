package signtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag/conv"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/shiplane/shiplane/magefiles/sign"
)

// The identity a GitHub Actions release workflow signs as, and its OIDC issuer.
const (
	GitHubIdentity = "https://github.com/acme/shiplane/.github/workflows/release.yml@refs/tags/v1.0.0"
	GitHubIssuer   = "https://token.actions.githubusercontent.com"
)

// VirtualSigstore is a FAKE Fulcio and Rekor in memory (sigstore-go's testing/ca virtual
// Sigstore: its own root and intermediate certificate authority, its own log key), for keyless
// signing where the real services cannot be reached. Its trusted root is what a verifier trusts
// instead of the public-good one.
type VirtualSigstore struct {
	vs *ca.VirtualSigstore
}

// NewVirtualSigstore makes a virtual Sigstore for one test.
func NewVirtualSigstore(t testing.TB) *VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return &VirtualSigstore{vs: vs}
}

// TrustedRoot is the virtual Sigstore's trusted root (its Fulcio authority, Rekor log,
// timestamping authority and CT log), as it reads back from trusted_root.json.
func (v *VirtualSigstore) TrustedRoot(t testing.TB) *root.TrustedRoot {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, v.vs.FulcioCertificateAuthorities(), rawLogIDs(t, v.vs.CTLogs()),
		v.vs.TimestampingAuthorities(), rawLogIDs(t, v.vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// rawLogIDs gives each log its ID as bytes: the virtual Sigstore's logs carry the hex string's
// bytes, which survive no trip through trusted_root.json (its keyId is the raw SHA-256).
func rawLogIDs(t testing.TB, logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	t.Helper()
	out := make(map[string]*root.TransparencyLog, len(logs))
	for id, l := range logs {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatalf("log ID %q: %v", id, err)
		}
		c := *l
		c.ID = raw
		out[id] = &c
	}
	return out
}

// WriteTrustedRoot writes the trusted root as trusted_root.json in dir and returns its path.
func (v *VirtualSigstore) WriteTrustedRoot(t testing.TB, dir string) string {
	t.Helper()
	data, err := v.TrustedRoot(t).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Signer is the production keyless signer (sign.NewKeylessSigner, WithIdentity(identity)) with
// the virtual Fulcio certifying its key for identity and issuer, and the virtual Rekor recording
// each signature.
// opts come after those and override them (e.g. another WithIdentity).
func (v *VirtualSigstore) Signer(t testing.TB, identity, issuer string, opts ...sign.KeylessOption) *sign.Signer {
	t.Helper()
	cert, priv, err := v.vs.GenerateLeafCert(identity, issuer)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := newCertKeypair(priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.NewKeylessSigner("virtual-oidc-token", append([]sign.KeylessOption{
		sign.WithKeypair(kp), sign.WithIdentity(identity), sign.WithIssuer(issuer), sign.WithTrustedMaterial(v.TrustedRoot(t)),
		sign.WithCertificateProvider(&virtualFulcio{cert: cert}),
		sign.WithTransparency(sgsign.NewRekor(&sgsign.RekorOptions{Client: &virtualRekor{vs: v.vs, at: cert.NotBefore.Add(time.Minute)}})),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// virtualFulcio hands out the leaf certificate the virtual Sigstore made for the keypair's key.
type virtualFulcio struct{ cert *x509.Certificate }

var _ sgsign.CertificateProvider = (*virtualFulcio)(nil)

func (f *virtualFulcio) GetCertificate(_ context.Context, kp sgsign.Keypair, _ *sgsign.CertificateProviderOptions) ([]byte, error) {
	pub, ok := kp.GetPublicKey().(*ecdsa.PublicKey)
	if !ok || !pub.Equal(f.cert.PublicKey) {
		return nil, errors.New("virtual Fulcio: the keypair is not the one certified")
	}
	return f.cert.Raw, nil
}

// virtualRekor is a Rekor v1 client that records entries as the real log does (canonical body,
// signed entry timestamp, inclusion proof), signed with the virtual Sigstore's log key.
type virtualRekor struct {
	vs *ca.VirtualSigstore
	at time.Time // the integrated time, within the leaf certificate's validity
	mu sync.Mutex
}

var _ sgsign.RekorClient = (*virtualRekor)(nil)

func (r *virtualRekor) CreateLogEntry(params *entries.CreateLogEntryParams, _ ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx := params.Context
	if ctx == nil {
		ctx = context.Background()
	}
	impl, err := types.CreateVersionedEntry(params.ProposedEntry)
	if err != nil {
		return nil, fmt.Errorf("virtual Rekor: %w", err)
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, fmt.Errorf("virtual Rekor: canonicalizing: %w", err)
	}
	logID, err := r.vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	integrated, index := r.at.Unix(), int64(0)
	b64 := base64.StdEncoding.EncodeToString(body)
	set, err := r.vs.RekorSignPayload(tlog.RekorPayload{LogID: logID, IntegratedTime: integrated, LogIndex: index, Body: b64})
	if err != nil {
		return nil, fmt.Errorf("virtual Rekor: signing the entry timestamp: %w", err)
	}
	proof, err := r.vs.GetInclusionProof(body)
	if err != nil {
		return nil, fmt.Errorf("virtual Rekor: inclusion proof: %w", err)
	}
	sum := sha256.Sum256(body)
	uuid := hex.EncodeToString(sum[:])
	return &entries.CreateLogEntryCreated{ETag: uuid, Payload: models.LogEntry{uuid: models.LogEntryAnon{
		Body: b64, IntegratedTime: conv.Pointer(integrated), LogID: conv.Pointer(logID), LogIndex: conv.Pointer(index),
		Verification: &models.LogEntryAnonVerification{InclusionProof: proof, SignedEntryTimestamp: strfmt.Base64(set)},
	}}}, nil
}

func (r *virtualRekor) GetLogEntryByUUID(*entries.GetLogEntryByUUIDParams, ...entries.ClientOption) (*entries.GetLogEntryByUUIDOK, error) {
	return nil, runtime.NewAPIError("virtual Rekor: no lookup by UUID", nil, 404)
}

// certKeypair is a sigstore-go Keypair over the leaf certificate's ECDSA key.
type certKeypair struct {
	priv *ecdsa.PrivateKey
	alg  signature.AlgorithmDetails
}

func newCertKeypair(priv crypto.PrivateKey) (*certKeypair, error) {
	k, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("virtual Fulcio made a %T key, want ECDSA", priv)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(k.Public())
	if err != nil {
		return nil, err
	}
	return &certKeypair{priv: k, alg: alg}, nil
}

var _ sgsign.Keypair = (*certKeypair)(nil)

func (k *certKeypair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *certKeypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *certKeypair) GetHint() []byte                { return nil }
func (k *certKeypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (k *certKeypair) GetPublicKey() crypto.PublicKey { return k.priv.Public() }
func (k *certKeypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
	return string(b), err
}

func (k *certKeypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	h := k.alg.GetHashType().New()
	h.Write(data)
	digest := h.Sum(nil)
	sig, err := k.priv.Sign(rand.Reader, digest, k.alg.GetHashType())
	return sig, digest, err
}
