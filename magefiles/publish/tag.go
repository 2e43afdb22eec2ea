package publish

import (
	"context"
	"io"
	"sync"

	"github.com/shiplane/shiplane/magefiles/goal"
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

// TagPushed is the end state "the annotated tag Name is on the remote". A tag is never moved: one
// that exists (at this commit, or at the earlier commit that released the same version) is achieved.
type TagPushed struct {
	Name, Commit, Message string
	tags                  *RemoteTags
	out                   io.Writer
}

var _ goal.Goal = (*TagPushed)(nil)

// NewTagPushed returns the goal.
func NewTagPushed(name, commit, message string, tags *RemoteTags, progress io.Writer) *TagPushed {
	if progress == nil {
		progress = io.Discard
	}
	return &TagPushed{Name: name, Commit: commit, Message: message, tags: tags, out: progress}
}

func (g *TagPushed) String() string { return "git tag pushed " + g.Name }

// Assess looks the tag up on the remote.
func (g *TagPushed) Assess(ctx context.Context) (goal.State, error) {
	tags, err := g.tags.Get(ctx)
	if err != nil {
		return goal.State{}, err
	}
	if c, ok := tags[g.Name]; ok {
		return goal.State{Achieved: true, Digest: c}, nil
	}
	return goal.State{}, nil
}

// Achieve creates the tag locally when it is missing there, and pushes it (never forced).
func (g *TagPushed) Achieve(ctx context.Context) error {
	git := g.tags.git
	local, err := git.TagCommit(ctx, g.Name)
	if err != nil {
		return err
	}
	if local == "" {
		if err := git.CreateTag(ctx, g.Name, g.Commit, g.Message); err != nil {
			return err
		}
	}
	defer g.tags.invalidate()
	return git.PushTag(ctx, g.tags.remote, g.Name)
}
