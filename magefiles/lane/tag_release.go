package lane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// TagRelease creates the annotated tag v<root VERSION> at HEAD and pushes it to origin, after
// every check releaseAll would refuse on, so that no release tag is burnt on a mistake releaseAll
// would find after the tag is pushed:
//
//   - the guardrails (TagReleaseCheck): the tag exists locally or on the remote, the tree is
//     dirty, a version or changed-without-bump guardrail fails;
//   - the release settings: where to publish (registry and chart repository);
//   - the root CHANGELOG.md has a section for the version (when it exists);
//   - the release file parses and its references resolve (sh! commands are not run, PGP
//     messages not decrypted: pipeline.ValidateOnly; Config.Verify then loads it fully);
//   - the release plan, observed from what is published, refuses nothing (published from other
//     inputs, blocked without ALLOW_BLOCKED=1, a chart without its image values, a clone too
//     shallow to tell the inputs' history).
//
// With Config.Verify it then runs the release file's verification goals locally, as releaseAll
// will. On a terminal (Config.IsTerminal) it prints the plan and asks "Tag v1.1.0 at 3f2a9c1 and
// push it to origin? [y/N]"; Config.Yes, CI=true or a non-terminal skip the question. Nothing is
// created when a check refuses or the answer is not yes.
func TagRelease(ctx context.Context, cfg Config) error {
	return annotated(cfg, tagRelease(ctx, cfg))
}

func tagRelease(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	tag := ReleaseTag(ws.Manifest.Platform.Version)
	if err := ws.tagReleaseChecks(ctx, tag); err != nil {
		return err
	}
	r, err := ws.openRelease(ctx, false)
	if err != nil {
		return err
	}
	defer r.cl.disp.Close()
	pl, err := r.plan(ctx, tag, false)
	if err != nil {
		return err
	}
	if err := r.printPlan(pl, "tagRelease "+tag); err != nil {
		return err
	}
	if err := ws.checkChartImages(pl); err != nil {
		return err
	}
	if err := r.checkHistory(pl); err != nil {
		return err
	}
	if ws.Config.Verify {
		if err := r.verifyLocally(ctx); err != nil {
			return err
		}
	}
	if err := ws.confirm(tag); err != nil {
		return err
	}
	if err := ws.Repo.CreateTag(ctx, tag, ws.Head.Hash, "Release "+tag); err != nil {
		return err
	}
	if err := ws.Repo.PushTag(ctx, Remote, tag); err != nil {
		return fmt.Errorf("%w; the local tag %s was created: push it with git push %s %s, or delete it with git tag -d %s", err, tag, Remote, tag, tag)
	}
	fmt.Fprintf(r.cl.out, "tagged %s at %s and pushed it to %s\n", tag, progress.Short(ws.Head.Hash), Remote)
	fmt.Fprintf(r.cl.out, "CI runs releaseAll for %s; preview it with: go run mage.go releasePlan\n", tag)
	return nil
}

// tagReleaseChecks are tagRelease's checks that need nothing but the checkout and the remote's
// tags: the guardrails, the settings, the changelog and the release file, all reported at once.
func (w *Workspace) tagReleaseChecks(ctx context.Context, tag string) error {
	remote, err := w.remoteTags(ctx)
	if err != nil {
		return err
	}
	facts, err := w.facts(ctx, remote)
	if err != nil {
		return err
	}
	if err := w.releaseFacts(ctx, &facts, tag, remote); err != nil {
		return err
	}
	checks, err := guard.Select(TagReleaseCheck.Refuse...)
	if err != nil {
		return err
	}
	errs := []error{guard.Run(facts, checks...), w.ReleasePolicy().requireTarget(w.Config.Settings)}
	if w.changelogs, err = w.Changelogs(); err == nil {
		err = w.checkChangelog()
	}
	errs = append(errs, err, w.validateReleaseFile(ctx, w.Config.Release))
	if err := errors.Join(errs...); err != nil {
		return &RefusedError{Lane: TagReleaseCheck, Err: err}
	}
	return nil
}

// validateReleaseFile parses the release file (relative to the root) and resolves its
// references without running any sh! command (pipeline.ValidateOnly); no release file ("" or a
// file that does not exist) is nothing to check.
func (w *Workspace) validateReleaseFile(ctx context.Context, file string) error {
	_, err := w.loadPipeline(ctx, file, true)
	return err
}

// verifyLocally runs the release file's verification goals here, as releaseAll runs them before
// publishing, and then checks that they left the work tree as committed.
func (r *releaseRun) verifyLocally(ctx context.Context) error {
	ws := r.ws
	var verify []*goal.Node
	p, err := r.loadPipeline(ctx, nil)
	if err != nil {
		return r.cl.red.Error(&RefusedError{Lane: TagReleaseCheck, Err: err})
	}
	if p != nil {
		verify = p.Nodes()
	}
	check, err := newTreeUnchanged(ctx, ws.Repo, ws.Config.Root)
	if err != nil {
		return err
	}
	nodes := append(verify, &goal.Node{Component: pipeline.Component, Goal: check, After: verify})
	rep := goal.New(goal.WithWorkers(ws.Config.Workers), goal.WithObserver(r.cl.disp.Observer(nil))).Run(ctx, nodes)
	if err := rep.Err(); err != nil {
		return r.cl.red.Error(fmt.Errorf("verifying before tagging (-verify): %w; nothing was tagged", err))
	}
	return nil
}

// NotConfirmedError is a tagRelease whose question was not answered yes: nothing was created.
type NotConfirmedError struct{ Tag string }

func (e *NotConfirmedError) Error() string {
	return fmt.Sprintf("%s was not tagged: the answer was not yes (run again and answer y, or pass -yes)", e.Tag)
}

// confirm asks on a terminal before the tag is created; Config.Yes, CI=true or no terminal
// skip the question.
func (w *Workspace) confirm(tag string) error {
	if w.Config.Yes || w.Env.CI || !w.Config.IsTerminal() {
		return nil
	}
	fmt.Fprintf(w.Config.Progress, "Tag %s at %s and push it to %s? [y/N] ", tag, progress.Short(w.Head.Hash), Remote)
	line, err := bufio.NewReader(w.Config.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return &NotConfirmedError{Tag: tag}
}

// isTerminal reports whether f is an *os.File open on a terminal (a character device).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok || file == nil {
		return false
	}
	fi, err := file.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
