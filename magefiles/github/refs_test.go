package github_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
)

// TestTagCommitAgainstFakeGitHub resolves a lightweight tag (one request), an annotated tag peeled
// to its commit (two), a tag with a slash, and a missing tag (ErrTagNotFound), without a token.
func TestTagCommitAgainstFakeGitHub(t *testing.T) {
	ctx := context.Background()
	fake := githubtest.NewFake(t, repo)
	const commit, other, object = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333"
	fake.SeedTag("v1.0.0", commit)
	fake.SeedAnnotatedTag("v2.0.0", object, other)
	fake.SeedTag("core/v1.0.0", other)
	c, err := github.New(repo, "", github.WithBaseURL(fake.URL()), github.WithRetry(fast))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tag, want string
		requests  int
	}{{"v1.0.0", commit, 1}, {"v2.0.0", other, 2}, {"core/v1.0.0", other, 1}} {
		fake.ResetCounts()
		got, err := c.TagCommit(ctx, tc.tag)
		if err != nil {
			t.Fatalf("%s: %v", tc.tag, err)
		}
		if got != tc.want {
			t.Errorf("%s: commit %s, want %s", tc.tag, got, tc.want)
		}
		if n := fake.Total(); n != tc.requests {
			t.Errorf("%s: %d requests, want %d", tc.tag, n, tc.requests)
		}
	}
	if _, err := c.TagCommit(ctx, "v9.9.9"); !errors.Is(err, github.ErrTagNotFound) {
		t.Errorf("missing tag: %v, want ErrTagNotFound", err)
	}
}
