package lane

import (
	"context"
	"fmt"

	"github.com/shiplane/shiplane/magefiles/guard"
)

// TagRelease creates the annotated tag v<root VERSION> at HEAD and pushes it to origin, after
// refusing when the tag exists locally or on the remote, the tree is dirty, or a version or
// changed-without-bump guardrail fails (TagReleaseCheck).
func TagRelease(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	tag := ReleaseTag(ws.Manifest.Platform.Version)
	remote, err := ws.remoteTags(ctx)
	if err != nil {
		return err
	}
	facts, err := ws.facts(ctx, remote)
	if err != nil {
		return err
	}
	if err := ws.releaseFacts(ctx, &facts, tag, remote); err != nil {
		return err
	}
	checks, err := guard.Select(TagReleaseCheck.Refuse...)
	if err != nil {
		return err
	}
	if err := guard.Run(facts, checks...); err != nil {
		return &RefusedError{Lane: TagReleaseCheck, Err: err}
	}
	if err := ws.Repo.CreateTag(ctx, tag, ws.Head.Hash, "Release "+tag); err != nil {
		return err
	}
	if err := ws.Repo.PushTag(ctx, Remote, tag); err != nil {
		return fmt.Errorf("%w; the local tag %s was created: push it with git push %s %s, or delete it with git tag -d %s", err, tag, Remote, tag, tag)
	}
	fmt.Fprintf(ws.Config.Stdout, "tagged %s at %s and pushed it to %s\n", tag, ws.Head.Short(), Remote)
	fmt.Fprintf(ws.Config.Progress, "CI runs releaseAll for %s; preview it with: go run mage.go releasePlan\n", tag)
	return nil
}
