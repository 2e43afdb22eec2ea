package publish_test

import (
	"context"
	"errors"
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/sign"
)

func keySigner(t *testing.T) *sign.Signer {
	t.Helper()
	priv, _ := signtest.NewKey(t)
	s, err := sign.NewKeySigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type countReferrers struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countReferrers) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/referrers/") {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

// TestAttestationGoals: the three goals of one image share one assessment (one referrers
// request), attach what is missing, and a second set of goals finds everything attached; a
// signature by another key does not count as ours and is left in place; a tag moved to another
// digest stops the attachment with a *publish.SubjectMovedError. In-process registry with the
// referrers API.
func TestAttestationGoals(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ct := &countReferrers{next: http.DefaultTransport}
	reg, err := sign.NewRegistry(sign.WithInsecure(), sign.WithRemoteOptions(remote.WithTransport(ct)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	img, _ := random.Image(256, 1)
	ref := host + "/rel/core:1.0.0"
	tag, _ := name.NewTag(ref, name.Insecure)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	digest := d.String()

	// Another key's signature is there first.
	foreign := keySigner(t)
	subject := tag.Context().Digest(digest)
	sig, err := sign.SignatureAttestation(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Attach(ctx, foreign, subject, sig); err != nil {
		t.Fatal(err)
	}

	ours := keySigner(t)
	goals := func() []goal.Goal {
		a := publish.NewAttestedArtifact(ref, plan.AttestationsOf(plan.Image), func(context.Context) (string, error) { return digest, nil }, reg, ours)
		var gs []goal.Goal
		for _, what := range plan.AttestationsOf(plan.Image) {
			g := publish.AttestationAttached{Name: plan.AttestationGoal(what, ref), What: what, Artifact: a}
			if what != plan.AttestSignature {
				pt := publish.PredicateType(what)
				g.Statement = func(_ context.Context, s name.Digest) ([]byte, error) {
					return attest.Statement(s.Context().Name(), s.DigestStr(), pt, []byte(`{"test":true}`))
				}
			}
			gs = append(gs, publish.NewAttestationAttached(g))
		}
		return gs
	}
	run := func(gs []goal.Goal) *goal.Report {
		nodes := make([]*goal.Node, len(gs))
		for i, g := range gs {
			nodes[i] = &goal.Node{Goal: g}
		}
		return goal.New().Run(ctx, nodes)
	}

	ct.n.Store(0)
	gs := goals()
	for _, g := range gs {
		st, err := g.Assess(ctx)
		if err != nil || st.Achieved {
			t.Fatalf("%s: %+v, %v: the foreign signature counted as ours", g, st, err)
		}
	}
	if n := ct.n.Load(); n != 1 {
		t.Errorf("three assessments sent %d referrers requests, want 1 (shared)", n)
	}
	rep := run(gs)
	for _, r := range rep.Results {
		if r.Status != goal.NewlyAchieved {
			t.Errorf("first run: %s", r.Line())
		}
	}
	ct.n.Store(0)
	rep = run(goals())
	for _, r := range rep.Results {
		if r.Status != goal.AlreadyAchieved {
			t.Errorf("second run: %s", r.Line())
		}
	}
	if n := ct.n.Load(); n != 1 {
		t.Errorf("the second run sent %d referrers requests, want 1", n)
	}
	// The foreign signature is still there, beside ours.
	if missing, err := reg.Missing(ctx, foreign, subject, []sign.Attestation{{PredicateType: sign.SignaturePredicateType}}); err != nil || len(missing) != 0 {
		t.Errorf("the foreign signature is gone: missing %v, %v", missing, err)
	}

	// The tag moves to another image: nothing is attached to either.
	other, _ := random.Image(256, 1)
	if err := remote.Write(tag, other); err != nil {
		t.Fatal(err)
	}
	a := publish.NewAttestedArtifact(ref, []string{plan.AttestSignature}, func(context.Context) (string, error) { return digest, nil }, reg, keySigner(t))
	g := publish.NewAttestationAttached(publish.AttestationAttached{Name: "signature attached " + ref, What: plan.AttestSignature, Artifact: a})
	var moved *publish.SubjectMovedError
	if err := g.Achieve(ctx); !errors.As(err, &moved) || moved.Published != digest {
		t.Errorf("achieve after the tag moved: %v, want a *publish.SubjectMovedError", err)
	}
}
