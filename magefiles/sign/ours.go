package sign

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Memo remembers what was verified on this machine, by key; a value starts with "sha256:".
// publish.DigestMemo is one (kept in a folder).
type Memo interface {
	Get(key string) (string, bool)
	Put(key, value string)
}

// WithMemo keeps the bundle referrers Missing verified as a key signer's (and those Attach
// wrote) in m as well, so that a later run on this machine reads only the referrer list: a
// referrer's digest names immutable content, so what was verified stays true. Default: they are
// remembered for the Registry's life only.
func WithMemo(m Memo) Option { return func(r *Registry) { r.memo = m } }

// memMemo is the Registry's own memory of verified referrers.
type memMemo struct {
	mu sync.Mutex
	m  map[string]string
}

func (m *memMemo) Get(key string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[key]
	return v, ok
}

func (m *memMemo) Put(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	m.m[key] = value
}

// verifiedKey names the fact "the referrer rf of subject is a bundle of predicateType, about
// subject, signed by s's key".
func verifiedKey(s *Signer, subject name.Digest, rf v1.Hash, predicateType string) string {
	return "sigstore-bundle " + subject.Context().Name() + "@" + subject.DigestStr() + " " + rf.String() + " " + predicateType + " " + s.identity
}

func (r *Registry) remember(s *Signer, subject name.Digest, rf v1.Hash, predicateType string) {
	key := verifiedKey(s, subject, rf, predicateType)
	r.seen.Put(key, rf.String())
	if r.memo != nil {
		r.memo.Put(key, rf.String())
	}
}

func (r *Registry) remembered(s *Signer, subject name.Digest, rf v1.Hash, predicateType string) bool {
	key := verifiedKey(s, subject, rf, predicateType)
	if v, ok := r.seen.Get(key); ok && v == rf.String() {
		return true
	}
	if r.memo == nil {
		return false
	}
	if v, ok := r.memo.Get(key); ok && v == rf.String() {
		r.seen.Put(key, v)
		return true
	}
	return false
}

// hasOurBundle reports whether refs holds a bundle of predicateType that s attached. The
// annotations only pick the candidates: whoever can write to the registry can write them. A key
// candidate counts when its bundle verifies, about subject, with that predicate type: with a key
// signer's public key, or, for a keyless signer, with a certificate for its expected identity and
// issuer chaining to its trusted root, with a transparency-log entry (see keylessTrust; a keyless
// signer without an expected identity counts none). A referrer someone else pushed with our
// annotations does not count, and the attestation is attached again; nor does one deleted since,
// unless this machine verified it before (WithMemo): then `release verified`, which reads every
// bundle, reports it. A registry error other than "not found" is returned, not taken for absence.
func (r *Registry) hasOurBundle(ctx context.Context, s *Signer, subject name.Digest, refs []referrer, predicateType string) (bool, error) {
	var candidates []referrer
	for _, ref := range refs {
		if ref.annotations[AnnPredicateType] == predicateType && ref.annotations[AnnSigner] == s.identity {
			candidates = append(candidates, ref)
		}
	}
	if len(candidates) == 0 {
		return false, nil
	}
	for _, c := range candidates {
		if r.remembered(s, subject, c.digest, predicateType) {
			return true, nil
		}
	}
	var trust Trust
	if s.opts.CertificateProvider != nil {
		var err error
		if trust, err = s.keylessTrust(); errors.Is(err, errNoIdentity) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	} else {
		pub, err := s.PublicKeyPEM()
		if err != nil {
			return false, err
		}
		trust = KeyTrust(pub)
	}
	v, trustPolicy, err := trust.verifier()
	if err != nil {
		return false, err
	}
	hexDigest, err := hex.DecodeString(strings.TrimPrefix(subject.DigestStr(), "sha256:"))
	if err != nil {
		return false, fmt.Errorf("digest %s: %w", subject.DigestStr(), err)
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest("sha256", hexDigest), trustPolicy)
	for _, c := range candidates {
		_, pt, err := r.verifyBundle(ctx, subject, c, v, policy)
		switch {
		case err == nil && pt == predicateType:
			r.remember(s, subject, c.digest, predicateType)
			return true, nil
		case err != nil && unavailable(err):
			return false, fmt.Errorf("checking %s's %s bundle %s: %w", subject, predicateType, c.digest, err)
		}
	}
	return false, nil
}

// unavailable reports whether err is the registry failing to answer (a network error, or an
// HTTP error other than not found), rather than an answer that the bundle is not there or not
// ours.
func unavailable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode != http.StatusNotFound
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
