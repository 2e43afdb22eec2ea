package publish

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// Attacher is what the attestation goals need of a registry (sign.Registry).
type Attacher interface {
	Resolve(ctx context.Context, ref string) (name.Digest, error)
	ParseDigest(ref string) (name.Digest, error)
	Missing(ctx context.Context, s *sign.Signer, subject name.Digest, wants []sign.Attestation) ([]sign.Attestation, error)
	Attach(ctx context.Context, s *sign.Signer, subject name.Digest, att sign.Attestation) error
}

var _ Attacher = (*sign.Registry)(nil)

// PredicateType is the in-toto predicate type of a plan attestation (plan.AttestSignature …).
func PredicateType(what string) string {
	switch what {
	case plan.AttestSignature:
		return sign.SignaturePredicateType
	case plan.AttestSBOM:
		return attest.SBOMPredicateType
	case plan.AttestProvenance:
		return attest.ProvenancePredicateType
	}
	return ""
}

// AttestedArtifact is one published image or chart and what its attestation goals found attached
// to it: one assessment (sign.Registry.Missing, one referrers request) serves all its goals, and
// each write makes the next assessment ask again.
type AttestedArtifact struct {
	// Ref is the artifact's tag reference ("reg/core:1.2.0", a chart "reg/charts/core:1.2.0").
	Ref string
	// Kinds are its attestations (plan.AttestationsOf).
	Kinds []string
	// Published is the digest this run published or found at Ref ("" when not published yet):
	// the run's record, which asks the registry at most once.
	Published func(ctx context.Context) (string, error)

	reg    Attacher
	signer *sign.Signer

	// write serialises the attachments to this artifact: without a referrers API each one
	// rewrites the same referrers tag schema index, and two at once would lose one's entry.
	write sync.Mutex
	// ask makes concurrent assessments one request.
	ask sync.Mutex

	mu     sync.Mutex
	gen    int // counts writes: an answer asked before a write is not kept after it
	known  bool
	digest string
	have   map[string]bool
}

// NewAttestedArtifact is the artifact at ref, assessed and attached through reg, signed by signer.
func NewAttestedArtifact(ref string, kinds []string, published func(context.Context) (string, error), reg Attacher, signer *sign.Signer) *AttestedArtifact {
	return &AttestedArtifact{Ref: ref, Kinds: kinds, Published: published, reg: reg, signer: signer}
}

// Seed keeps the plan's assessment (digest "" and none attached for an artifact not published
// yet), so the goals' first assessments ask nothing.
func (a *AttestedArtifact) Seed(digest string, have []string) *AttestedArtifact {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.known, a.digest, a.have = true, digest, map[string]bool{}
	for _, h := range have {
		a.have[h] = true
	}
	return a
}

// Attached is what is attached and to which digest: the kept answer, or one Missing request for
// the published digest ("" and nothing when it is not published yet).
func (a *AttestedArtifact) Attached(ctx context.Context) (string, map[string]bool, error) {
	// One question at a time: goals assessed together share its answer.
	a.ask.Lock()
	defer a.ask.Unlock()
	a.mu.Lock()
	if a.known {
		defer a.mu.Unlock()
		return a.digest, a.have, nil
	}
	gen := a.gen
	a.mu.Unlock()
	digest, err := a.Published(ctx)
	if err != nil || digest == "" {
		return "", nil, err
	}
	subject, err := a.reg.ParseDigest(repoOf(a.Ref) + "@" + digest)
	if err != nil {
		return "", nil, err
	}
	wants := make([]sign.Attestation, len(a.Kinds))
	for i, k := range a.Kinds {
		wants[i] = sign.Attestation{PredicateType: PredicateType(k)}
	}
	missing, err := a.reg.Missing(ctx, a.signer, subject, wants)
	if err != nil {
		return "", nil, fmt.Errorf("assessing what is attached to %s: %w", a.Ref, err)
	}
	have := map[string]bool{}
	for _, k := range a.Kinds {
		if !slices.ContainsFunc(missing, func(m sign.Attestation) bool { return m.PredicateType == PredicateType(k) }) {
			have[k] = true
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen == gen {
		a.known, a.digest, a.have = true, digest, have
	}
	return digest, have, nil
}

func (a *AttestedArtifact) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	a.known = false
}

// repoOf is ref without its tag or digest.
func repoOf(ref string) string {
	if r, err := name.ParseReference(ref, name.Insecure); err == nil {
		return r.Context().String()
	}
	return ref
}

// AttestationAttached is the goal "<what> attached <ref>": a Sigstore bundle of that kind, signed
// by the release's key, attached to the artifact as an OCI referrer. A bundle signed by another
// key does not count, and is never deleted.
type AttestationAttached struct {
	// Name is the goal's name (plan.AttestationGoal).
	Name string
	// What is plan.AttestSignature, plan.AttestSBOM or plan.AttestProvenance.
	What     string
	Artifact *AttestedArtifact
	// Statement makes the in-toto statement about subject (nil for the signature, whose
	// statement is sign.SignatureAttestation's).
	Statement func(ctx context.Context, subject name.Digest) ([]byte, error)
	// BeforeWrite runs right before the attachment (the release tag's re-check). Default nil: none.
	BeforeWrite func(ctx context.Context, step string) error
}

// NewAttestationAttached returns the goal.
func NewAttestationAttached(g AttestationAttached) *AttestationAttached { return &g }

var _ goal.Goal = (*AttestationAttached)(nil)

func (g *AttestationAttached) String() string { return g.Name }

// Assess reports whether the release key's attestation of this kind is attached to the digest
// published at the reference.
func (g *AttestationAttached) Assess(ctx context.Context) (goal.State, error) {
	digest, have, err := g.Artifact.Attached(ctx)
	if err != nil {
		return goal.State{}, err
	}
	if digest != "" && have[g.What] {
		return goal.State{Achieved: true, Digest: digest, Detail: "attached, signed by the release key"}, nil
	}
	return goal.State{Detail: g.What + " not attached"}, nil
}

// SubjectMovedError is an artifact whose tag no longer points at the digest the run published
// (or found): nothing is attached to either.
type SubjectMovedError struct {
	Ref, Published, Now string
}

func (e *SubjectMovedError) Error() string {
	return fmt.Sprintf("%s now points at %s, not at %s, which this release published: nothing was attached; find out who wrote it, then run releaseAll again", e.Ref, e.Now, e.Published)
}

// Achieve checks, right before the write, that the reference still holds the published digest,
// makes the statement and attaches it signed.
func (g *AttestationAttached) Achieve(ctx context.Context) error {
	a := g.Artifact
	digest, err := a.Published(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", g.Name, err)
	}
	if digest == "" {
		return fmt.Errorf("%s: %s is not published", g.Name, a.Ref)
	}
	if g.BeforeWrite != nil {
		if err := g.BeforeWrite(ctx, g.Name); err != nil {
			return err
		}
	}
	now, err := a.reg.Resolve(ctx, a.Ref)
	if err != nil {
		return fmt.Errorf("%s: %w", g.Name, err)
	}
	if now.DigestStr() != digest {
		return &SubjectMovedError{Ref: a.Ref, Published: digest, Now: now.DigestStr()}
	}
	att := sign.Attestation{PredicateType: PredicateType(g.What)}
	if g.Statement == nil {
		if att, err = sign.SignatureAttestation(now); err != nil {
			return fmt.Errorf("%s: %w", g.Name, err)
		}
	} else if att.Statement, err = g.Statement(ctx, now); err != nil {
		return fmt.Errorf("%s: making the statement: %w", g.Name, err)
	}
	a.write.Lock()
	defer a.write.Unlock()
	defer a.forget()
	if err := a.reg.Attach(ctx, a.signer, now, att); err != nil {
		return fmt.Errorf("%s: %w", g.Name, err)
	}
	return nil
}
