// Package goaltest provides an in-memory goal for testing code that runs goals.
package goaltest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
)

// Fake is a goal over an in-memory flag. It is safe for concurrent use.
type Fake struct {
	Name string
	// AchieveErr, when set, is returned by Achieve (which then does not set the flag).
	AchieveErr error
	// AssessErr, when set, is returned by Assess.
	AssessErr error
	// Skip, when set, makes Assess report the goal skipped with this reason.
	Skip string
	// Sleep is how long Achieve takes.
	Sleep time.Duration
	// Lie makes Achieve succeed without setting the flag.
	Lie bool
	// AssessPanic, when not nil, is passed to panic by Assess (a library choking on an odd answer).
	AssessPanic any
	// AchievePanic, when not nil, is passed to panic by Achieve.
	AchievePanic any

	mu       sync.Mutex
	achieved bool
	Assessed atomic.Int32
	Achieved atomic.Int32
	// OnAchieve, when set, runs at the start of Achieve.
	OnAchieve func()
}

var _ goal.Goal = (*Fake)(nil)

// NewFake returns a goal that is not yet achieved.
func NewFake(name string) *Fake { return &Fake{Name: name} }

// Done marks the goal achieved, as if a previous run had achieved it.
func (f *Fake) Done() *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.achieved = true
	return f
}

func (f *Fake) String() string { return f.Name }

// Assess reports the flag, unless AssessPanic, AssessErr or Skip says otherwise.
func (f *Fake) Assess(context.Context) (goal.State, error) {
	f.Assessed.Add(1)
	if f.AssessPanic != nil {
		panic(f.AssessPanic)
	}
	if f.AssessErr != nil {
		return goal.State{}, f.AssessErr
	}
	if f.Skip != "" {
		return goal.State{Skip: f.Skip}, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return goal.State{Achieved: f.achieved, Digest: "sha256:" + f.Name}, nil
}

// Achieve sets the flag after Sleep, unless AchievePanic, AchieveErr or Lie says otherwise.
func (f *Fake) Achieve(ctx context.Context) error {
	f.Achieved.Add(1)
	if f.OnAchieve != nil {
		f.OnAchieve()
	}
	if f.AchievePanic != nil {
		panic(f.AchievePanic)
	}
	if f.Sleep > 0 {
		select {
		case <-time.After(f.Sleep):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.AchieveErr != nil {
		return f.AchieveErr
	}
	if !f.Lie {
		f.mu.Lock()
		f.achieved = true
		f.mu.Unlock()
	}
	return nil
}
