package publish_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// countingRegistry answers every reference as present at one digest, counting the questions.
type countingRegistry struct {
	digests, images, pushes atomic.Int32
	digest                  atomic.Value
	fail                    atomic.Bool // pushes fail
}

func (c *countingRegistry) Digest(context.Context, string) (string, bool, error) {
	c.digests.Add(1)
	time.Sleep(20 * time.Millisecond) // long enough for concurrent callers to meet
	return c.digest.Load().(string), true, nil
}

func (c *countingRegistry) Image(context.Context, string) (published.Image, error) {
	c.images.Add(1)
	return published.Image{Present: true, Digest: c.digest.Load().(string)}, nil
}

func (c *countingRegistry) Push(context.Context, v1.Image, []string, ...registry.PushOption) (registry.Pushed, error) {
	c.pushes.Add(1)
	if c.fail.Load() {
		return registry.Pushed{}, errors.New("push refused")
	}
	c.digest.Store("sha256:new")
	return registry.Pushed{Digest: "sha256:new"}, nil
}

func (c *countingRegistry) PushIndex(context.Context, v1.ImageIndex, []string, ...registry.PushOption) (registry.Pushed, error) {
	c.pushes.Add(1)
	c.digest.Store("sha256:new")
	return registry.Pushed{Digest: "sha256:new"}, nil
}

func (c *countingRegistry) Platforms(context.Context, string) (string, []published.Platform, error) {
	return c.digest.Load().(string), nil, nil
}

// TestCachingAsksOncePerRunAndForgetsOnWrite: goals asking the same reference at once share one
// request; a push replaces the answer with what it established, so the next question is answered
// from the push without asking, and sees the write.
func TestCachingAsksOncePerRunAndForgetsOnWrite(t *testing.T) {
	reg := &countingRegistry{}
	reg.digest.Store("sha256:old")
	c := publish.NewCaching(reg, nil, nil, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d, ok, err := c.Digest(t.Context(), "reg/core:1"); err != nil || !ok || d != "sha256:old" {
				t.Errorf("Digest = %q, %v, %v", d, ok, err)
			}
		}()
	}
	wg.Wait()
	if n := reg.digests.Load(); n != 1 {
		t.Errorf("8 concurrent questions made %d requests, want 1", n)
	}
	if _, err := c.Push(t.Context(), nil, []string{"reg/core:1"}); err != nil {
		t.Fatal(err)
	}
	if d, ok, _ := c.Digest(t.Context(), "reg/core:1"); d != "sha256:new" || !ok || reg.digests.Load() != 1 {
		t.Errorf("after a push: digest %q (present %v) after %d requests, want sha256:new from the push, still 1 request", d, ok, reg.digests.Load())
	}
	// A push that fails forgets: the next question asks.
	reg.fail.Store(true)
	if _, err := c.Push(t.Context(), nil, []string{"reg/core:1"}); err == nil {
		t.Fatal("the failing push succeeded")
	}
	if _, _, err := c.Digest(t.Context(), "reg/core:1"); err != nil || reg.digests.Load() != 2 {
		t.Errorf("after a failed push: %d requests (err %v), want the question asked again", reg.digests.Load(), err)
	}
	if _, err := c.Release(t.Context(), "v1"); err == nil {
		t.Error("a release question without GitHub was answered")
	}
}
