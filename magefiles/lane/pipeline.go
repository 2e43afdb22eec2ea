package lane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// The lane's own goal kinds, which act on what a release published.
const (
	// KindPublishedArtifacts checks every published image and the umbrella chart (see
	// publishedArtifacts). A release has one in after_publish: unless the file lists the kind.
	KindPublishedArtifacts = "published-artifacts"
	// KindWebhook POSTs a summary of the release to a URL, once (see webhookNotified).
	KindWebhook = "webhook"
	// PublishedArtifactsGoal is the name of the default after_publish goal of KindPublishedArtifacts.
	PublishedArtifactsGoal = "published artifacts verified"
	// KindReleaseVerified runs verifyRelease's checks on the release just published (see
	// releaseVerified). A release of a repository that commits a signing public key has one in
	// after_publish: unless the file lists the kind.
	KindReleaseVerified = "release-verified"
	// ReleaseVerifiedGoal is the name of the default after_publish goal of KindReleaseVerified.
	ReleaseVerifiedGoal = "release verified"
)

var registerKinds = sync.OnceValue(func() error {
	return errors.Join(
		pipeline.RegisterKind(KindPublishedArtifacts, pipeline.Kind{New: newPublishedArtifacts}),
		pipeline.RegisterKind(KindWebhook, pipeline.Kind{New: newWebhook, Effectful: true, Optional: true}),
		pipeline.RegisterKind(KindReleaseVerified, pipeline.Kind{New: newReleaseVerified}),
	)
})

// releaseServices is what the lane's kinds act with (pipeline.WithServices): the release's tag,
// the release registry and chart repository, and the GitHub release.
type releaseServices struct {
	ws      *Workspace
	tag     string
	target  settings.Target
	reg     releaseRegistry
	charts  chartPuller
	gh      releaseRecords
	http    *http.Client
	out     io.Writer
	timeout time.Duration
}

// releaseRegistry reads the release registry, uncached: what is there now.
type releaseRegistry interface {
	Digest(ctx context.Context, ref string) (string, bool, error)
	Image(ctx context.Context, ref string) (published.Image, error)
	Platforms(ctx context.Context, ref string) (string, []published.Platform, error)
}

var _ releaseRegistry = (*registry.Client)(nil)

type chartPuller interface {
	PullChart(ctx context.Context, repo, name, version string) ([]byte, error)
}

// releaseRecords reads the GitHub release and attaches records to it.
type releaseRecords interface {
	ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error)
	AssetContent(ctx context.Context, a github.AssetDetail) ([]byte, error)
	EnsureAsset(ctx context.Context, id int64, name string, content []byte) error
}

// services is the run's releaseServices, for the lane's kinds.
func (r *releaseRun) services(tag string) *releaseServices {
	return &releaseServices{ws: r.ws, tag: tag, target: r.policy.Target, reg: r.cl.reg, charts: r.cl.charts, gh: r.cache,
		http: &http.Client{Timeout: 30 * time.Second}, out: r.cl.out}
}

// pipelineOptions are the run's options for loading the release file: its progress, its
// redactor, and svc for the lane's kinds.
func (r *releaseRun) pipelineOptions(svc *releaseServices) []pipeline.Option {
	return []pipeline.Option{pipeline.WithProgress(r.cl.out), pipeline.WithRedactor(r.cl.red), pipeline.WithServices(svc)}
}

// loadPipeline loads the release file to run it, with the lane's kinds and the default
// after_publish goal; nil when the policy's file does not exist. (The plan loads it to check and
// list it: MakePlan.)
func (r *releaseRun) loadPipeline(ctx context.Context, svc *releaseServices) (*pipeline.Pipeline, error) {
	p, err := r.ws.loadPipeline(ctx, r.policy.ReleaseFile, false, r.pipelineOptions(svc)...)
	if err != nil || p == nil {
		return nil, err
	}
	if err := r.cl.registerMasks(); err != nil { // the release file's own secrets
		return nil, err
	}
	return p, nil
}

// loadPipeline loads file (nil when it is "" or does not exist) with the lane's kinds and the default
// after_publish goals "published artifacts verified" and, when the repository commits a signing
// public key, "release verified".
func (w *Workspace) loadPipeline(ctx context.Context, file string, validate bool, opts ...pipeline.Option) (*pipeline.Pipeline, error) {
	if file == "" {
		return nil, nil
	}
	if _, err := os.Stat(w.Path(file)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return loadPipelineAt(ctx, w.Config.Root, file, validate, w.signingConfigured(), opts...)
}

// loadPipelineAt is loadPipeline for the repository at root; signed adds "release verified".
func loadPipelineAt(ctx context.Context, root, file string, validate, signed bool, opts ...pipeline.Option) (*pipeline.Pipeline, error) {
	if err := registerKinds(); err != nil {
		return nil, err
	}
	opts = append(opts, pipeline.WithDefault(pipeline.Default{Section: pipeline.SectionAfterPublish, Name: PublishedArtifactsGoal, Kind: KindPublishedArtifacts}))
	if signed {
		opts = append(opts, pipeline.WithDefault(pipeline.Default{Section: pipeline.SectionAfterPublish, Name: ReleaseVerifiedGoal, Kind: KindReleaseVerified}))
	}
	if validate {
		opts = append(opts, pipeline.ValidateOnly())
	}
	return pipeline.Load(ctx, root, file, opts...)
}

// listPipeline puts the release file's goals into the plan, as the release runs them.
func listPipeline(pl *plan.Plan, file string, p *pipeline.Pipeline) {
	if p != nil {
		pl.PipelineFile, pl.Pipeline = file, pipelineGoals(p)
	}
}

// pipelineGoals is the pipeline as the plan lists it.
func pipelineGoals(p *pipeline.Pipeline) []plan.PipelineGoal {
	if p == nil {
		return nil
	}
	var out []plan.PipelineGoal
	for _, e := range p.Entries() {
		out = append(out, plan.PipelineGoal{Section: e.Section, Name: e.Name, Kind: e.Kind, Builtin: e.Builtin,
			Optional: e.Optional, Effectful: e.Effectful, Enabled: e.Enabled, Default: e.Default, After: e.After})
	}
	return out
}

// stageOf is the built-in publish goal that publishes a step's artifact.
var stageOf = map[plan.Kind]string{plan.Image: pipeline.BuiltinImages, plan.Chart: pipeline.BuiltinCharts,
	plan.GitTag: pipeline.BuiltinComponentTags, plan.Release: pipeline.BuiltinGitHubRelease}

// PipelineNodes are the release file's goals around the plan's publish steps.
type PipelineNodes struct {
	// Verify run before anything is built or published.
	Verify []*goal.Node
	// Publish is the publish: list: each goal of the file's runs after every built-in (and goal)
	// listed before it, and before those listed after it. Only when something is published.
	Publish []pipeline.Stage
	// AfterPublish run after everything else in the run has succeeded.
	AfterPublish []*goal.Node
}

// ReleaseNodes is Nodes with the release file's goals: verify first, the file's publish goals
// between the built-in stages the publish: list places them, and after_publish last, after every
// other node of the run.
func (w *Workspace) ReleaseNodes(pl *plan.Plan, mk GoalMaker, pn PipelineNodes) []*goal.Node {
	out := w.Nodes(pl, mk, pn.Verify)
	if pl.Count(plan.Publish) > 0 {
		pos := map[string]int{}
		for i, st := range pn.Publish {
			if st.Builtin != "" {
				pos[st.Builtin] = i
			}
		}
		// The plan's publish nodes, by position: Nodes lists them right after verify and builds,
		// in the plan's step order.
		steps := pl.Steps(plan.Publish)
		pubs := out[len(out)-len(steps)-pl.Count(plan.AlreadyPublished) : len(out)-pl.Count(plan.AlreadyPublished)]
		var custom []*goal.Node
		for i, st := range pn.Publish {
			if st.Node == nil {
				continue
			}
			st.Node.After = append(st.Node.After, pn.Verify...)
			st.Node.After = append(st.Node.After, custom...)
			for j, s := range steps {
				switch p := pos[stageOf[s.Kind]]; {
				case p < i:
					st.Node.After = append(st.Node.After, pubs[j])
				case p > i:
					pubs[j].After = append(pubs[j].After, st.Node)
				}
			}
			custom = append(custom, st.Node)
		}
		out = append(out, custom...)
	}
	if len(pn.AfterPublish) > 0 {
		before := slices.Clone(out)
		for _, n := range pn.AfterPublish {
			n.After = append(n.After, before...)
		}
		out = append(out, pn.AfterPublish...)
	}
	return out
}

// checkSamePipeline refuses a run whose release file, loaded to run, is not the one the plan
// printed: what is printed is what runs.
func checkSamePipeline(printed []plan.PipelineGoal, p *pipeline.Pipeline) error {
	got := pipelineGoals(p)
	if len(got) != len(printed) {
		return fmt.Errorf("the release file changed while the release ran (%d goals printed, %d loaded): run releaseAll again", len(printed), len(got))
	}
	for i := range got {
		a, b := got[i], printed[i]
		if a.Section != b.Section || a.Name != b.Name || a.Kind != b.Kind || a.Optional != b.Optional || a.Effectful != b.Effectful || a.Enabled != b.Enabled {
			return fmt.Errorf("the release file changed while the release ran (goal %q of %s): run releaseAll again", a.Name, a.Section)
		}
	}
	return nil
}
