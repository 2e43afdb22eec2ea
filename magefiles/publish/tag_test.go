package publish_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// fakeGit is a git remote and local repository in memory, counting pushes.
type fakeGit struct {
	remote, local map[string]string
	pushed        []string
}

func (f *fakeGit) RemoteTags(context.Context, string) (map[string]string, error) {
	return f.remote, nil
}
func (f *fakeGit) TagCommit(_ context.Context, tag string) (string, error) { return f.local[tag], nil }
func (f *fakeGit) CreateTag(_ context.Context, name, rev, _ string) error {
	f.local[name] = rev
	return nil
}
func (f *fakeGit) PushTag(_ context.Context, _, name string) error {
	f.pushed = append(f.pushed, name)
	f.remote[name] = f.local[name]
	return nil
}

// TestTagPushedChecksBothEnds: a remote tag at another commit counts only when that commit holds
// the same inputs; otherwise it is refused. A local tag at another commit is refused and never
// pushed. BeforeWrite runs right before the push and can stop it.
func TestTagPushedChecksBothEnds(t *testing.T) {
	const head, other = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	ctx := t.Context()
	mk := func(g *fakeGit, same bool, before func(context.Context, string) error) *publish.TagPushed {
		return publish.NewTagPushed(publish.TagPushed{Name: "core/v1.0.0", Commit: head, Component: "core", BeforeWrite: before,
			SameInputs: func(context.Context, string) (bool, error) { return same, nil }}, publish.NewRemoteTags(g, "origin"), nil)
	}

	g := &fakeGit{remote: map[string]string{"core/v1.0.0": other}, local: map[string]string{}}
	if st, err := mk(g, true, nil).Assess(ctx); err != nil || !st.Achieved {
		t.Errorf("a remote tag at a commit of the same inputs: %+v, %v", st, err)
	}
	_, err := mk(g, false, nil).Assess(ctx)
	var te *guard.TagElsewhere
	if !errors.As(err, &te) || te.Where != guard.Remote || te.Commit != other {
		t.Errorf("a remote tag at a commit of other inputs: err = %v", err)
	}

	g = &fakeGit{remote: map[string]string{}, local: map[string]string{"core/v1.0.0": other}}
	err = mk(g, true, nil).Achieve(ctx)
	if !errors.As(err, &te) || te.Where != guard.Local || len(g.pushed) != 0 {
		t.Errorf("a local tag at another commit: err = %v, pushed %v", err, g.pushed)
	}

	g = &fakeGit{remote: map[string]string{}, local: map[string]string{}}
	stop := errors.New("the release tag moved")
	if err := mk(g, true, func(context.Context, string) error { return stop }).Achieve(ctx); !errors.Is(err, stop) || len(g.pushed) != 0 {
		t.Errorf("BeforeWrite failing: err = %v, pushed %v", err, g.pushed)
	}
	if err := mk(g, true, func(context.Context, string) error { return nil }).Achieve(ctx); err != nil || len(g.pushed) != 1 {
		t.Errorf("a clean push: err = %v, pushed %v", err, g.pushed)
	}
}
