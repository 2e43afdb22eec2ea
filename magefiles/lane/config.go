package lane

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// Config is what a target passes in. The zero value means: the current directory's repository,
// the default files (or their environment overrides), the process environment, progress on
// stderr.
type Config struct {
	// Root is the repository root. Default: the current directory.
	Root string
	// Components is the components file, relative to Root. Default: $SHIPLANE_COMPONENTS, else
	// manifest.DefaultFile (deploy/components.yaml).
	Components string
	// Settings is the settings file, relative to Root. Default: $SHIPLANE_SETTINGS, else
	// settings.DefaultFile (deploy/settings.yaml).
	Settings string
	// Release is the release pipeline file, relative to Root. Default: $SHIPLANE_RELEASE, else
	// pipeline.DefaultFile (deploy/release.yaml).
	Release string
	// Getenv reads the environment, once, in Open. Default: os.Getenv.
	Getenv func(string) string
	// Progress receives human progress. Default: os.Stderr.
	Progress io.Writer
	// Stdout receives machine-readable output. Default: os.Stdout.
	Stdout io.Writer
	// Workers bounds concurrent goals. Default: the engine's default.
	Workers int
	// Only limits buildAllLocal and composeUpLocal to these components and what they need (the
	// images they are built FROM; for compose, the components they depend on). Default: $COMPONENTS,
	// split at commas; empty selects every component.
	Only []string
	// KubeContext is the kubeconfig context deployAllLocal and deployDownLocal use. Default:
	// $KUBE_CONTEXT, else the kubeconfig's current-context.
	KubeContext string
	// PlanJSON, when set, makes releasePlan write the plan as JSON to Stdout instead of text.
	// Default: false ($SHIPLANE_PLAN_JSON names a file to write it to as well).
	PlanJSON bool
	// GitOptions configure the git repository Open opens (git.WithCounter counts its processes,
	// git.WithEnv adds to its environment). Default: none.
	GitOptions []git.Option
	// Verify makes tagRelease run the release file's verification goals locally before it tags.
	// Default: false (the release file is only parsed and its references checked).
	Verify bool
	// Yes makes tagRelease tag without asking. Default: false (it asks on a terminal, unless
	// CI=true).
	Yes bool
	// Stdin is where tagRelease reads its question's answer. Default: os.Stdin.
	Stdin io.Reader
	// IsTerminal reports whether a person is there to answer tagRelease's question. Default:
	// os.Stdin and Progress are both terminals.
	IsTerminal func() bool
	// Verbose streams the compiler's and the classic builder's output of every image build as it
	// comes (the targets set it from mage -v). Default: false: an image's output is printed only
	// when it fails to build, its last build.FailureLines lines, once.
	Verbose bool
	// Observe wraps the backends the publishing lanes talk to, for a test or a measurement that
	// counts what is asked of them. Default: nothing is wrapped.
	Observe Observe
	// ProgressTerminal reports whether Progress is a terminal a person watches: the publishing
	// lanes then show a live view (package display). Default: Progress is an *os.File on a
	// terminal.
	ProgressTerminal func() bool
}

// Observe is what a caller may put around the publishing lanes' backends (Config.Observe), e.g.
// counters of `docker save` exports, layer compressions and manifest HEADs. A nil field wraps
// nothing.
type Observe struct {
	// Docker wraps the Engine API client local images are read (inspected and exported) through.
	Docker func(registry.DaemonClient) registry.DaemonClient
	// Registry wraps the HTTP transport of the image registry client (not the chart client's).
	Registry func(http.RoundTripper) http.RoundTripper
	// Compress is called with a layer's diff ID each time a layer is compressed for a push.
	Compress func(diffID string)
}

// Env is every environment variable the lanes read, read once when a repository is opened. No
// lane and no goal reads the environment itself.
type Env struct {
	// Docker is DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG (else ~/.docker), DOCKER_CERT_PATH,
	// DOCKER_TLS_VERIFY and DOCKER_TLS: what chooses the Docker daemon, as for the docker CLI.
	Docker docker.EndpointEnv
	// GitHubToken, GitHubRepository and GitHubAPIURL are GITHUB_TOKEN, GITHUB_REPOSITORY and
	// GITHUB_API_URL.
	GitHubToken, GitHubRepository, GitHubAPIURL string
	// ReleaseTag is RELEASE_TAG, else GITHUB_REF_NAME.
	ReleaseTag string
	// AllowBlocked is ALLOW_BLOCKED=1.
	AllowBlocked bool
	// Report is SHIPLANE_REPORT: where the JSON report is written ("" for none).
	Report string
	// PlanJSON is SHIPLANE_PLAN_JSON: where releasePlan writes the plan as JSON ("" for none).
	PlanJSON string
	// ComposeInclude is COMPOSE_INCLUDE, split at commas.
	ComposeInclude []string
	// Components is COMPONENTS, split at commas: the local lane's selection when Config.Only is
	// empty.
	Components []string
	// Platforms is PLATFORMS, as written: the platforms buildAllLocal builds instead of the
	// daemon's own ("" for the daemon's).
	Platforms string
	// Secrets are values no output may show: GITHUB_TOKEN, REGISTRY_PASSWORD, DOCKER_PASSWORD,
	// SIGNING_KEY, ACTIONS_ID_TOKEN_REQUEST_TOKEN, HELM_SIGNING_KEY, HELM_SIGNING_PASSPHRASE.
	Secrets []string
	// Kubeconfig, DeployNamespace, DeployWait and DeployTimeout are KUBECONFIG, DEPLOY_NAMESPACE,
	// DEPLOY_WAIT and DEPLOY_TIMEOUT, as written (the deploy lane validates them).
	Kubeconfig, DeployNamespace, DeployWait, DeployTimeout string
	// KubeContext is KUBE_CONTEXT: the kubeconfig context to deploy to when Config.KubeContext is
	// empty.
	KubeContext string
	// CI is CI=true: nobody is there to answer a question.
	CI bool
	// GitHubActions is GITHUB_ACTIONS=true: every secret is registered with ::add-mask:: on
	// stdout before anything else is printed.
	GitHubActions bool
	// Cache is SHIPLANE_CACHE: the folder shiplane keeps what it learned on this machine in
	// ("" for the user cache directory's shiplane folder).
	Cache string
	// NoColor is NO_COLOR set to anything: no colour escapes in any output.
	NoColor bool
	// DumbTerminal is TERM=dumb: a terminal that cannot move its cursor (plain lines, no live view).
	DumbTerminal bool
	// StepSummary is GITHUB_STEP_SUMMARY: the file GitHub Actions shows as the step's summary.
	StepSummary string
	// SigningKey is SIGNING_KEY: the PEM private key releases sign with (a secret: redacted and
	// masked, never printed). "" when unset.
	SigningKey string
	// IDTokenURL and IDTokenToken are ACTIONS_ID_TOKEN_REQUEST_URL and
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN (keyless signing under GitHub Actions; the token is a secret).
	IDTokenURL, IDTokenToken string
	// HelmSigningKey and HelmSigningPassphrase are HELM_SIGNING_KEY (the ASCII-armored OpenPGP
	// private key released charts' .prov files are signed with) and HELM_SIGNING_PASSPHRASE (its
	// passphrase, when it has one): secrets, redacted and masked, never printed. "" when unset.
	HelmSigningKey, HelmSigningPassphrase string
	// GitHubRun is the GitHub Actions run provenance statements name as their builder (nil
	// outside GitHub Actions).
	GitHubRun *attest.GitHubActions
	// GitHubServerURL is GITHUB_SERVER_URL ("" when unset).
	GitHubServerURL string
	// Getenv is kept for what interpolates the environment by name (compose files, the release
	// pipeline's ${env!…} values, settings overrides).
	Getenv func(string) string
}

// readEnv is the one place the lanes read the environment.
func readEnv(getenv func(string) string) Env {
	e := Env{
		Docker:           docker.EndpointEnvFrom(getenv),
		GitHubToken:      getenv("GITHUB_TOKEN"),
		GitHubRepository: getenv("GITHUB_REPOSITORY"),
		GitHubAPIURL:     getenv("GITHUB_API_URL"),
		AllowBlocked:     getenv("ALLOW_BLOCKED") == "1",
		Report:           getenv("SHIPLANE_REPORT"),
		PlanJSON:         getenv("SHIPLANE_PLAN_JSON"),
		Kubeconfig:       getenv("KUBECONFIG"),
		KubeContext:      strings.TrimSpace(getenv("KUBE_CONTEXT")),
		ComposeInclude:   SplitList(getenv("COMPOSE_INCLUDE")),
		Components:       SplitList(getenv("COMPONENTS")),
		Platforms:        getenv("PLATFORMS"),
		DeployNamespace:  strings.TrimSpace(getenv("DEPLOY_NAMESPACE")),
		DeployWait:       strings.TrimSpace(getenv("DEPLOY_WAIT")),
		DeployTimeout:    strings.TrimSpace(getenv("DEPLOY_TIMEOUT")),
		Cache:            getenv("SHIPLANE_CACHE"),
		GitHubActions:    getenv("GITHUB_ACTIONS") == "true",
		CI:               getenv("CI") == "true",
		NoColor:          getenv("NO_COLOR") != "",
		DumbTerminal:     getenv("TERM") == "dumb",
		StepSummary:      getenv("GITHUB_STEP_SUMMARY"),
		SigningKey:       getenv("SIGNING_KEY"),
		IDTokenURL:       getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
		IDTokenToken:     getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
		GitHubRun:        attest.GitHubActionsFromEnv(getenv),
		GitHubServerURL:  getenv("GITHUB_SERVER_URL"),
		Getenv:           getenv,
	}
	e.HelmSigningKey, e.HelmSigningPassphrase = getenv("HELM_SIGNING_KEY"), getenv("HELM_SIGNING_PASSPHRASE")
	for _, k := range []string{"RELEASE_TAG", "GITHUB_REF_NAME"} {
		if t := strings.TrimSpace(getenv(k)); t != "" {
			e.ReleaseTag = t
			break
		}
	}
	for _, k := range []string{"GITHUB_TOKEN", "REGISTRY_PASSWORD", "DOCKER_PASSWORD", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "HELM_SIGNING_PASSPHRASE"} {
		if v := getenv(k); v != "" {
			e.Secrets = append(e.Secrets, v)
		}
	}
	// SIGNING_KEY: a PEM key spans lines, and a line of output holds at most one of them, so each
	// body line is a secret of its own (GitHub Actions masks a multi-line value line by line at
	// best); its header and footer are not secret.
	for _, line := range strings.Split(e.SigningKey, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") {
			e.Secrets = append(e.Secrets, line)
		}
	}
	// HELM_SIGNING_KEY, an armored OpenPGP key, likewise: each body line (base64, its checksum
	// line included), not its BEGIN/END lines nor its "Name: value" armor headers.
	for _, line := range strings.Split(e.HelmSigningKey, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") && !strings.Contains(line, ": ") {
			e.Secrets = append(e.Secrets, line)
		}
	}
	return e
}

// SplitList splits a comma-separated list (a flag's or an environment variable's value), trimming
// spaces and dropping blank items: " a, ,b" is [a b], and "" is nil.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// withDefaults fills what the caller left out, from the environment and the defaults, and makes
// Root absolute.
func (c Config) withDefaults() (Config, error) {
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Root == "" {
		c.Root = "."
	}
	for _, f := range []struct {
		dst      *string
		env, def string
	}{
		{&c.Components, "SHIPLANE_COMPONENTS", manifest.DefaultFile},
		{&c.Settings, "SHIPLANE_SETTINGS", settings.DefaultFile},
		{&c.Release, "SHIPLANE_RELEASE", pipeline.DefaultFile},
	} {
		if *f.dst == "" {
			*f.dst = c.Getenv(f.env)
		}
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	if c.Progress == nil {
		c.Progress = os.Stderr
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	if c.ProgressTerminal == nil {
		progress := c.Progress
		c.ProgressTerminal = func() bool { return onTerminal(progress) }
	}
	if c.IsTerminal == nil {
		progress := c.Progress
		c.IsTerminal = func() bool { return isTerminal(os.Stdin) && isTerminal(progress) }
	}
	root, err := filepath.Abs(c.Root)
	if err != nil {
		return c, fmt.Errorf("resolving %s: %w", c.Root, err)
	}
	c.Root = root
	return c, nil
}

// localImages reads the images a push takes from the daemon d: each exported at most once and
// each layer compressed at most once per run, layer digests remembered in memo (nil: for the run
// only). Close it when the run ends.
func (w *Workspace) localImages(d registry.DaemonClient, memo *publish.DigestMemo) *registry.Daemon {
	if w.Config.Observe.Docker != nil {
		d = w.Config.Observe.Docker(d)
	}
	var opts []registry.DaemonOption
	if memo != nil {
		opts = append(opts, registry.WithLayerMemo(memo))
	}
	if w.Config.Observe.Compress != nil {
		opts = append(opts, registry.OnCompress(w.Config.Observe.Compress))
	}
	return registry.NewDaemon(d, opts...)
}

// memoDir is where digests verified on this machine are remembered.
func (e Env) memoDir() string {
	if e.Cache != "" {
		return filepath.Join(e.Cache, "digests")
	}
	return publish.DefaultMemoDir()
}
