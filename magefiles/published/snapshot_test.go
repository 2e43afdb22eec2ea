package published_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

// TestObserveKeepsUnknownAnswersAsErrors: an answer that could not be had stays an error in the
// snapshot (never "absent"); the rest are answered; another error fails the observation.
func TestObserveKeepsUnknownAnswersAsErrors(t *testing.T) {
	mem := publishedtest.New()
	mem.Images["reg/a:1"] = published.Image{Present: true, Inputs: "sha256:a"}
	mem.Unknown["reg/b:1"] = errors.New("503 Service Unavailable")
	mem.Charts[publishedtest.ChartKey("oci://reg/charts", "a", "1")] = published.Chart{Present: true, Inputs: "sha256:c"}
	mem.Tags["a/v1"] = published.Tag{Present: true, Commit: "abc"}
	q := published.Query{Images: []string{"reg/a:1", "reg/b:1", "reg/c:1"}, Charts: []published.ChartQuery{{Repo: "oci://reg/charts", Name: "a", Version: "1"}},
		Tags: []string{"a/v1", "b/v1"}, Releases: []string{"v1"}}
	snap, err := published.Observe(t.Context(), mem, q, 2)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := snap.Image("reg/a:1"); err != nil || !img.Present || img.Inputs != "sha256:a" {
		t.Errorf("a: %+v, %v", img, err)
	}
	if _, err := snap.Image("reg/b:1"); !errors.Is(err, published.ErrUnknown) {
		t.Errorf("b: err = %v, want ErrUnknown", err)
	}
	if img, err := snap.Image("reg/c:1"); err != nil || img.Present {
		t.Errorf("c: %+v, %v", img, err)
	}
	if ch, err := snap.Chart("oci://reg/charts", "a", "1"); err != nil || ch.Inputs != "sha256:c" {
		t.Errorf("chart: %+v, %v", ch, err)
	}
	if tag, err := snap.Tag("a/v1"); err != nil || tag.Commit != "abc" {
		t.Errorf("tag: %+v, %v", tag, err)
	}
	if r, err := snap.Release("v1"); err != nil || r.Present {
		t.Errorf("release: %+v, %v", r, err)
	}

	failing := failingState{mem}
	if _, err := published.Observe(t.Context(), failing, q, 0); err == nil || errors.Is(err, published.ErrUnknown) {
		t.Errorf("a refused login did not fail the observation: %v", err)
	}
}

type failingState struct{ *publishedtest.Memory }

var errLogin = errors.New("401 Unauthorized")

func (failingState) Release(context.Context, string) (published.Release, error) {
	return published.Release{}, errLogin
}
