package lane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/display"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// releaseRun is one release: the policy, the clients, and the run's caching view of what is
// published, which the plan observes through and the goals assess and write through.
type releaseRun struct {
	ws     *Workspace
	policy Policy
	cl     *clients
	cache  *publish.Caching
	tags   *publish.RemoteTags
	remote map[string]string
	// memo is this machine's memory of digests (verified identities, local images' registry
	// digests, compressed layers), one for the run.
	memo *publish.DigestMemo
	// signing signs what the release publishes (attest.go).
	signing *releaseSigning
}

// openRelease connects to the release registry, chart repository, git remote and GitHub. Every
// line it and the release print goes through the run's redactor.
func (w *Workspace) openRelease(ctx context.Context, needGitHub bool) (*releaseRun, error) {
	p := w.ReleasePolicy()
	if err := p.requireTarget(w.Config.Settings); err != nil {
		return nil, err
	}
	cl, err := w.clients(ctx, p.Target)
	if err != nil {
		return nil, err
	}
	var gh publish.GitHub
	if w.Env.GitHubToken != "" && w.Env.GitHubRepository != "" {
		opts := []github.Option{github.WithProgress(cl.out)}
		if w.Env.GitHubAPIURL != "" {
			opts = append(opts, github.WithBaseURL(w.Env.GitHubAPIURL))
		}
		c, err := github.New(w.Env.GitHubRepository, w.Env.GitHubToken, opts...)
		if err != nil {
			return nil, cl.red.Error(err)
		}
		gh = c
	} else if needGitHub {
		return nil, fmt.Errorf("cannot release to GitHub: %w", publish.ErrNoGitHub)
	}
	remote, err := w.remoteTags(ctx)
	if err != nil {
		return nil, cl.red.Error(err)
	}
	tags := publish.NewRemoteTags(w.Repo, Remote).Seed(remote)
	memo := publish.NewDigestMemo(w.Env.memoDir())
	sg, err := w.openSigning(ctx)
	if err != nil {
		return nil, cl.red.Error(err)
	}
	return &releaseRun{ws: w, policy: p, cl: cl, tags: tags, remote: remote, memo: memo, signing: sg,
		cache: publish.NewCaching(cl.reg, cl.charts, tags, gh).WithIdentities(memo)}, nil
}

// plan observes and decides the release of tag.
func (r *releaseRun) plan(ctx context.Context, tag string, released bool) (*plan.Plan, error) {
	pl, err := r.ws.makePlan(ctx, r.policy, r.cache, r.remote, tag, released, r.signing, r.pipelineOptions(r.services(tag))...)
	if err != nil {
		return nil, r.cl.red.Error(err)
	}
	if err := r.cl.registerMasks(); err != nil { // the release file's own secrets
		return nil, err
	}
	return pl, nil
}

// ReleasePlan prints what releaseAll would decide, level by level and artifact by artifact, and
// writes nothing. It fails when releaseAll would refuse. With Config.PlanJSON it prints the plan
// as JSON instead; SHIPLANE_PLAN_JSON names a file to write the JSON plan to as well.
func ReleasePlan(ctx context.Context, cfg Config) error {
	return annotated(cfg, releasePlan(ctx, cfg))
}

func releasePlan(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	r, err := ws.openRelease(ctx, false)
	if err != nil {
		return err
	}
	defer r.cl.disp.Close()
	tag, err := ws.releaseTag(ctx)
	if err != nil {
		return err
	}
	if tag == "" {
		tag = ReleaseTag(ws.Manifest.Platform.Version)
	}
	if _, ok := r.remote[tag]; !ok {
		fmt.Fprintf(r.cl.out, "note: %s is not on %s yet; releaseAll runs from the pushed tag (go run mage.go tagRelease)\n", tag, Remote)
	}
	pl, err := r.plan(ctx, tag, false)
	if err != nil {
		return err
	}
	if err := r.writePlanJSON(pl); err != nil {
		return err
	}
	if err := r.printPlan(pl, "releasePlan "+tag); err != nil {
		return err
	}
	// What releaseAll refuses before building, releasePlan refuses too.
	if err := ws.checkChartImages(pl); err != nil {
		return err
	}
	return r.checkHistory(pl)
}

// printPlan prints the plan for a person (the refusals once: in the error it returns, not in the
// plan's text as well) and, when it refuses, adds the plan to the GitHub Actions step summary;
// it returns the plan's refusal, masked (the lane annotates its located refusals: annotated).
func (r *releaseRun) printPlan(pl *plan.Plan, title string) error {
	r.cl.disp.Plan(pl)
	err := r.cl.red.Error(pl.Err())
	if err == nil {
		return nil
	}
	if serr := r.cl.disp.WriteStepSummary(display.StepSummary{Title: title, Plan: pl, Err: err}); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// checkHistory refuses a release that builds or packages anything in a clone too shallow to tell
// when each component's inputs last changed.
func (r *releaseRun) checkHistory(pl *plan.Plan) error {
	if !r.policy.RequireCommit || pl.Count(plan.Publish) == 0 {
		return nil
	}
	return r.ws.requireInputsHistory()
}

// writePlanJSON writes the plan as JSON to stdout (Config.PlanJSON) and to SHIPLANE_PLAN_JSON.
func (r *releaseRun) writePlanJSON(pl *plan.Plan) error {
	ws := r.ws
	if !ws.Config.PlanJSON && ws.Env.PlanJSON == "" {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // a secret's &, < and > stay as they are, so the redactor finds them
	enc.SetIndent("", "  ")
	if err := enc.Encode(pl); err != nil {
		return fmt.Errorf("encoding the plan: %w", err)
	}
	data := []byte(r.cl.red.String(buf.String()))
	if ws.Config.PlanJSON {
		if _, err := ws.Config.Stdout.Write(data); err != nil {
			return err
		}
	}
	if path := ws.Env.PlanJSON; path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("writing the plan to %s: %w", path, err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("writing the plan to %s: %w", path, err)
		}
	}
	return nil
}

// ReleaseAll publishes the release of the tag HEAD is at. It observes what is published, plans,
// prints the plan, and refuses before any write when the plan does; otherwise it runs the
// verification goals of the release file, then exactly the plan's publish steps (nodes.go), in
// the order their artifacts reference each other: images (built reproducibly, times set to the
// time of the last commit that changed each component's inputs, an image FROM one of ours on that
// base as published), charts, per-component git tags, and the GitHub release with its assets. What is
// already published from the same inputs is not in the plan's publish steps, so a re-run after a
// failure finishes only what is missing.
func ReleaseAll(ctx context.Context, cfg Config) error {
	return annotated(cfg, releaseAll(ctx, cfg))
}

func releaseAll(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	tag, err := ws.releaseTag(ctx)
	if err != nil {
		return err
	}
	if tag == "" {
		return fmt.Errorf("no release tag: set RELEASE_TAG, or run from the tag (go run mage.go tagRelease creates v%s at HEAD)", ws.Manifest.Platform.Version)
	}
	r, err := ws.openRelease(ctx, true)
	if err != nil {
		return err
	}
	defer r.cl.disp.Close()
	pl, err := r.plan(ctx, tag, true)
	if err != nil {
		return err
	}
	out := r.cl.out
	svc := r.services(tag)
	if err := r.writePlanJSON(pl); err != nil {
		return err
	}
	if err := r.printPlan(pl, "releaseAll "+tag); err != nil {
		return err
	}
	if err := ws.checkChartImages(pl); err != nil {
		return err
	}
	if err := r.checkHistory(pl); err != nil {
		return err
	}
	// The release file, loaded to run: the goals the plan listed, with their references resolved.
	pipe, err := r.loadPipeline(ctx, svc)
	if err != nil {
		return r.cl.red.Error(err)
	}
	if err := checkSamePipeline(pl.Pipeline, pipe); err != nil {
		return err
	}
	var pn PipelineNodes
	if pipe != nil {
		pn.Publish, pn.AfterPublish = pipe.PublishStages(), pipe.AfterPublish()
	} else {
		fmt.Fprintf(out, "no %s: no verification or after-publish goals\n", r.policy.ReleaseFile)
	}
	var verify []*goal.Node
	if pl.Count(plan.Publish) > 0 {
		if pipe != nil {
			verify = pipe.Nodes()
		}
		// What is built and packaged is the commit: verification may have written files, tracked,
		// untracked or ignored (the builds copy whole folders).
		check, err := newTreeUnchanged(ctx, ws.Repo, ws.Config.Root)
		if err != nil {
			return err
		}
		verify = append(verify, &goal.Node{Component: "verify", Goal: check, After: verify})
	} else {
		fmt.Fprintln(out, "everything is published: no verification needed")
	}
	tagCheck := r.tagStillAtHead(tag)
	mk := &publishGoals{w: ws, images: r.cache, src: noLocalImages{}, charts: r.cache.Charts(), tags: r.tags, releases: r.cache,
		byInputs: r.policy.DecideByInputs, umbrellaDeps: umbrellaDeps(pl), out: out, beforeWrite: tagCheck,
		release: ws.releaseContent(r.cache, pl, tagCheck, r.signing), signing: r.signing, plan: pl}
	if buildsImages(pl) {
		d, err := ws.Daemon(ctx)
		if err != nil {
			return err
		}
		defer d.Close()
		fmt.Fprintf(out, "daemon: %s\n", d.Endpoint())
		if ws.Targets, err = PublishTargets(ctx, d); err != nil {
			return err
		}
		mk.daemon = d
		src := ws.localImages(d.API(), r.memo)
		defer src.Close()
		mk.src = src
		mk.buildOpts = []build.Option{build.WithProgress(out)}
		if r.policy.RequireCommit {
			// Every image names the last commit that changed its inputs, and takes its times from
			// it: one built from the same inputs at another such commit (or from uncommitted edits)
			// is rebuilt, not reused; an unchanged component rebuilds to the digest published, and
			// an image FROM one of ours is that base as published plus its own layers.
			mk.src = ws.Reproducible(mk.src)
			mk.requireOrigin = true
		}
	}
	pn.Verify = verify
	nodes := ws.ReleaseNodes(pl, mk, pn)
	if err := ws.CheckForeignRuns(nodes); err != nil {
		return err
	}
	rep := goal.New(goal.WithWorkers(ws.Config.Workers), goal.WithObserver(r.cl.disp.Observer(byLevel(pl)))).Run(ctx, nodes)
	r.cl.disp.Close()
	return ws.finishRun(rep, r.cl, runOutput{title: "releaseAll " + tag, plan: pl})
}

// buildsImages reports whether the plan publishes an image, which must then be built.
func buildsImages(pl *plan.Plan) bool {
	for _, s := range pl.Steps(plan.Publish) {
		if s.Kind == plan.Image {
			return true
		}
	}
	return false
}

// umbrellaDeps maps every chart the plan publishes or found published to its version: what the
// umbrella vendors.
func umbrellaDeps(pl *plan.Plan) map[string]string {
	deps := map[string]string{}
	for _, d := range []plan.Decision{plan.Publish, plan.AlreadyPublished} {
		for _, s := range pl.Steps(d) {
			if s.Kind == plan.Chart && s.Component != PlatformComponent {
				deps[s.Name] = s.Version
			}
		}
	}
	return deps
}

// remoteTags lists the release remote's tags, saying first when the remote is not configured.
func (w *Workspace) remoteTags(ctx context.Context) (map[string]string, error) {
	if _, err := w.Repo.RemoteURL(ctx, Remote); err != nil {
		return nil, fmt.Errorf("releases read and push tags on a git remote: %w", err)
	}
	return w.Repo.RemoteTags(ctx, Remote)
}

// tagStillAtHead checks, with one ls-remote right before a write that depends on the release tag,
// that the tag still points at the commit being released on the remote: a tag moved or deleted
// mid-run stops the release there.
func (r *releaseRun) tagStillAtHead(tag string) func(ctx context.Context, step string) error {
	return func(ctx context.Context, step string) error {
		remote, err := r.ws.Repo.RemoteTags(ctx, Remote)
		if err != nil {
			return fmt.Errorf("checking the release tag %s before %s: %w", tag, step, err)
		}
		if now := remote[tag]; now != r.ws.Head.Hash {
			return &guard.TagMoved{Tag: tag, Head: r.ws.Head.Hash, Now: now, Step: step}
		}
		return nil
	}
}

// treeUnchanged is the check "the work tree is still the commit" after verification: a
// verification goal that edits a tracked file, leaves an untracked one, or adds or changes an
// ignored one (a build output, a profile) must not change what is built and packaged. It checks
// when it runs (after verification), never at assessment.
type treeUnchanged struct {
	repo    treeLister
	root    string
	ignored map[string]fileStamp // the ignored files before verification
	checked bool
}

type treeLister interface {
	Dirty(ctx context.Context) ([]string, error)
	Ignored(ctx context.Context) ([]string, error)
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func newTreeUnchanged(ctx context.Context, repo treeLister, root string) (*treeUnchanged, error) {
	ignored, err := stampIgnored(ctx, repo, root)
	if err != nil {
		return nil, err
	}
	return &treeUnchanged{repo: repo, root: root, ignored: ignored}, nil
}

func stampIgnored(ctx context.Context, repo treeLister, root string) (map[string]fileStamp, error) {
	names, err := repo.Ignored(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]fileStamp, len(names))
	for _, n := range names {
		if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(n))); err == nil {
			out[n] = fileStamp{size: fi.Size(), mod: fi.ModTime()}
		}
	}
	return out, nil
}

func (g *treeUnchanged) String() string { return "work tree unchanged by verification" }

func (g *treeUnchanged) Assess(context.Context) (goal.State, error) {
	return goal.State{Achieved: g.checked}, nil
}

func (g *treeUnchanged) Achieve(ctx context.Context) error {
	changed, err := g.repo.Dirty(ctx)
	if err != nil {
		return err
	}
	now, err := stampIgnored(ctx, g.repo, g.root)
	if err != nil {
		return err
	}
	for n, st := range now {
		if was, ok := g.ignored[n]; !ok || was != st {
			changed = append(changed, n+" (ignored by git)")
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return &VerificationChangedTreeError{Files: changed}
	}
	g.checked = true
	return nil
}

// VerificationChangedTreeError is a verification goal that left the work tree different from the
// commit: the release builds and packages only what is committed, so it publishes nothing.
type VerificationChangedTreeError struct{ Files []string }

func (e *VerificationChangedTreeError) Error() string {
	return fmt.Sprintf("the verification goals changed the work tree (%s); nothing is built or published from it: make the goal write outside the checkout, or commit what it generates, then tag again", strings.Join(e.Files, ", "))
}
