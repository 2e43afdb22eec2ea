// Package buildtest wraps a build.Daemon to count what the goals ask of it, so tests can assert
// that a run built nothing.
package buildtest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/docker"
)

// Counting passes every call to Daemon and counts it. It is safe for concurrent use.
type Counting struct {
	Daemon   build.Daemon
	Inspects atomic.Int32
	Builds   atomic.Int32
	Tags     atomic.Int32

	mu    sync.Mutex
	built []string
}

var _ build.Daemon = (*Counting)(nil)

// NewCounting wraps d.
func NewCounting(d build.Daemon) *Counting { return &Counting{Daemon: d} }

// InspectImage counts and forwards.
func (c *Counting) InspectImage(ctx context.Context, ref string) (docker.Image, bool, error) {
	c.Inspects.Add(1)
	return c.Daemon.InspectImage(ctx, ref)
}

// BuildImage counts, records the first tag, and forwards.
func (c *Counting) BuildImage(ctx context.Context, o docker.BuildOptions) (string, error) {
	c.Builds.Add(1)
	c.mu.Lock()
	if len(o.Tags) > 0 {
		c.built = append(c.built, o.Tags[0])
	} else {
		c.built = append(c.built, o.ContextDir)
	}
	c.mu.Unlock()
	return c.Daemon.BuildImage(ctx, o)
}

// TagImage counts and forwards.
func (c *Counting) TagImage(ctx context.Context, source, target string) error {
	c.Tags.Add(1)
	return c.Daemon.TagImage(ctx, source, target)
}

// Built returns the first tag of every build requested so far, in order.
func (c *Counting) Built() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.built...)
}

// Reset zeroes the counters and the list of builds.
func (c *Counting) Reset() {
	c.Inspects.Store(0)
	c.Builds.Store(0)
	c.Tags.Store(0)
	c.mu.Lock()
	c.built = nil
	c.mu.Unlock()
}
