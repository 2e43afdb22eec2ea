package publish

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/plan"
)

// Tagger is what TagPushed needs of git.
type Tagger interface {
	RemoteTags(ctx context.Context, remote string) (map[string]string, error)
	TagCommit(ctx context.Context, tag string) (string, error)
	CreateTag(ctx context.Context, name, rev, message string) error
	PushTag(ctx context.Context, remote, name string) error
}

// RemoteTags reads a remote's tags once and shares the answer between goals; a push makes the next
// read ask the remote again.
type RemoteTags struct {
	git    Tagger
	remote string
	mu     sync.Mutex
	tags   map[string]string
}

// NewRemoteTags returns a cache over remote's tags.
func NewRemoteTags(git Tagger, remote string) *RemoteTags {
	return &RemoteTags{git: git, remote: remote}
}

// Get returns the remote's tags.
func (r *RemoteTags) Get(ctx context.Context) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tags == nil {
		tags, err := r.git.RemoteTags(ctx, r.remote)
		if err != nil {
			return nil, err
		}
		r.tags = tags
	}
	return r.tags, nil
}

// Seed starts the cache from tags already read in this run (nil keeps it empty).
func (r *RemoteTags) Seed(tags map[string]string) *RemoteTags {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tags != nil {
		r.tags = make(map[string]string, len(tags))
		for k, v := range tags {
			r.tags[k] = v
		}
	}
	return r
}

func (r *RemoteTags) invalidate() {
	r.mu.Lock()
	r.tags = nil
	r.mu.Unlock()
}

// TagPushed is the end state "the annotated tag Name is on the remote, at Commit or at a commit
// holding the same inputs". A tag is never moved: one that exists at this commit, or at the earlier
// commit that released the same version from the same inputs, is achieved; one at a commit of
// other inputs is refused, and so is a local tag at another commit (never pushed).
type TagPushed struct {
	Name, Commit, Message string
	// Component owns the tag, for the refusal's fix.
	Component string
	// SameInputs reports whether commit holds the component's inputs at Commit. nil: only
	// Commit counts.
	SameInputs func(ctx context.Context, commit string) (bool, error)
	// BeforeWrite runs right before the tag is pushed, with the step's name; an error stops the
	// goal (the release checks there that its own tag did not move). nil: nothing.
	BeforeWrite func(ctx context.Context, step string) error

	tags *RemoteTags
	out  io.Writer
}

var _ goal.Goal = (*TagPushed)(nil)

// NewTagPushed returns the goal.
func NewTagPushed(g TagPushed, tags *RemoteTags, progress io.Writer) *TagPushed {
	if progress == nil {
		progress = io.Discard
	}
	g.tags, g.out = tags, progress
	return &g
}

func (g *TagPushed) String() string { return plan.TagGoal(g.Name) }

// Assess looks the tag up on the remote and checks where it points.
func (g *TagPushed) Assess(ctx context.Context) (goal.State, error) {
	tags, err := g.tags.Get(ctx)
	if err != nil {
		return goal.State{}, err
	}
	c, ok := tags[g.Name]
	if !ok {
		return goal.State{}, nil
	}
	if c != g.Commit {
		same := false
		if g.SameInputs != nil {
			if same, err = g.SameInputs(ctx, c); err != nil {
				return goal.State{}, fmt.Errorf("checking the inputs at %s, where the remote tag %s points: %w", c, g.Name, err)
			}
		}
		if !same {
			return goal.State{}, &guard.TagElsewhere{Tag: g.Name, Commit: c, Want: g.Commit, Where: guard.Remote, Component: g.Component}
		}
	}
	return goal.State{Achieved: true, Digest: c}, nil
}

// Achieve creates the tag locally when it is missing there, and pushes it (never forced). A local
// tag at another commit is refused and never pushed.
func (g *TagPushed) Achieve(ctx context.Context) error {
	git := g.tags.git
	local, err := git.TagCommit(ctx, g.Name)
	if err != nil {
		return err
	}
	if local != "" && local != g.Commit {
		return &guard.TagElsewhere{Tag: g.Name, Commit: local, Want: g.Commit, Where: guard.Local, Component: g.Component}
	}
	if local == "" {
		if err := git.CreateTag(ctx, g.Name, g.Commit, g.Message); err != nil {
			return err
		}
	}
	if g.BeforeWrite != nil {
		if err := g.BeforeWrite(ctx, "pushing the tag "+g.Name); err != nil {
			return err
		}
	}
	defer g.tags.invalidate()
	return git.PushTag(ctx, g.tags.remote, g.Name)
}
