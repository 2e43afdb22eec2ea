package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/release"

	"github.com/shiplane/shiplane/magefiles/goal"
)

// Releases is what the release goals need from Helm: a release's history, install-or-upgrade and
// uninstall, in one namespace. Helm implements it.
type Releases interface {
	// History returns every stored revision of the release, oldest first; none (and no error)
	// when the release does not exist.
	History(ctx context.Context, name string) ([]*release.Release, error)
	// Apply installs or upgrades r.
	Apply(ctx context.Context, r *Release, opts ApplyOptions) (*release.Release, error)
	// Uninstall removes the release and its history; a missing release is not an error.
	Uninstall(ctx context.Context, name string, opts ApplyOptions) error
}

// Namespaces is what the namespace goal needs from the cluster. KubeNamespaces implements it.
type Namespaces interface {
	// NamespacePhase returns the namespace's phase ("Active", "Terminating"), or "" when it does
	// not exist.
	NamespacePhase(ctx context.Context, name string) (string, error)
	// CreateNamespace creates the namespace with labels; one that already exists is not an error.
	CreateNamespace(ctx context.Context, name string, labels map[string]string) error
}

// GoalOption configures the release goals.
type GoalOption func(*goalConfig)

type goalConfig struct {
	wait    bool
	timeout time.Duration
}

// WithWait makes installs and upgrades wait until the release's objects are ready (Deployments
// available, Services with their addresses, ...), and uninstalls until they are gone. Default:
// false, Helm returns once the API server has accepted the objects.
func WithWait(wait bool) GoalOption { return func(c *goalConfig) { c.wait = wait } }

// WithTimeout bounds each install, upgrade or uninstall, waits included. Default: DefaultTimeout.
func WithTimeout(d time.Duration) GoalOption {
	return func(c *goalConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

func newGoalConfig(opts []GoalOption) goalConfig {
	c := goalConfig{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// ReleaseDeployed is the goal "release deployed <name> (<namespace>)": the release's last revision
// is deployed from the chart and values of the Release, as InputsLabel records.
type ReleaseDeployed struct {
	r   *Release
	rs  Releases
	cfg goalConfig
}

var _ goal.Goal = (*ReleaseDeployed)(nil)

// NewReleaseDeployed returns the goal that r is deployed through rs.
func NewReleaseDeployed(r *Release, rs Releases, opts ...GoalOption) *ReleaseDeployed {
	return &ReleaseDeployed{r: r, rs: rs, cfg: newGoalConfig(opts)}
}

// Release is the release the goal deploys.
func (g *ReleaseDeployed) Release() *Release { return g.r }

func (g *ReleaseDeployed) String() string {
	return fmt.Sprintf("release deployed %s (%s)", g.r.Name, g.r.Namespace)
}

// Assess finds the goal achieved when the release's last revision is deployed and was made from
// the same chart files and values; it changes nothing.
func (g *ReleaseDeployed) Assess(ctx context.Context) (goal.State, error) {
	inputs, err := g.r.Inputs()
	if err != nil {
		return goal.State{}, err
	}
	hist, err := g.rs.History(ctx, g.r.Name)
	if err != nil {
		return goal.State{}, err
	}
	if len(hist) == 0 {
		return goal.State{Detail: "not installed"}, nil
	}
	last := hist[len(hist)-1]
	switch {
	case last.Info == nil || last.Info.Status != release.StatusDeployed:
		status := release.StatusUnknown
		if last.Info != nil {
			status = last.Info.Status
		}
		return goal.State{Detail: fmt.Sprintf("revision %d is %s", last.Version, status)}, nil
	case last.Labels[InputsLabel] != inputs:
		return goal.State{Detail: fmt.Sprintf("revision %d was deployed from another chart or other values", last.Version)}, nil
	}
	return goal.State{Achieved: true}, nil
}

// Achieve installs or upgrades the release and records its inputs hash in InputsLabel.
func (g *ReleaseDeployed) Achieve(ctx context.Context) error {
	inputs, err := g.r.Inputs()
	if err != nil {
		return err
	}
	hist, err := g.rs.History(ctx, g.r.Name)
	if err != nil {
		return err
	}
	op := "installing"
	if len(hist) > 0 && hist[len(hist)-1].Info != nil && hist[len(hist)-1].Info.Status != release.StatusUninstalled {
		op = "upgrading"
	}
	_, err = g.rs.Apply(ctx, g.r, ApplyOptions{
		Wait:    g.cfg.wait,
		Timeout: g.cfg.timeout,
		Labels:  map[string]string{InputsLabel: inputs},
	})
	if err != nil {
		chartName := ""
		if g.r.Chart != nil {
			chartName = g.r.Chart.Name()
		}
		return &ReleaseError{Release: g.r.Name, Namespace: g.r.Namespace, Chart: chartName, Dir: g.r.ChartDir, Op: op, Err: err}
	}
	return nil
}

// ReleaseUninstalled is the goal "release uninstalled <name> (<namespace>)": the release has no
// stored revision, so neither its objects nor its history remain.
type ReleaseUninstalled struct {
	name, namespace string
	rs              Releases
	cfg             goalConfig
}

var _ goal.Goal = (*ReleaseUninstalled)(nil)

// NewReleaseUninstalled returns the goal that the release name in namespace is gone, through rs.
func NewReleaseUninstalled(name, namespace string, rs Releases, opts ...GoalOption) *ReleaseUninstalled {
	return &ReleaseUninstalled{name: name, namespace: namespace, rs: rs, cfg: newGoalConfig(opts)}
}

func (g *ReleaseUninstalled) String() string {
	return fmt.Sprintf("release uninstalled %s (%s)", g.name, g.namespace)
}

// Assess finds the goal achieved when the release has no history.
func (g *ReleaseUninstalled) Assess(ctx context.Context) (goal.State, error) {
	hist, err := g.rs.History(ctx, g.name)
	if err != nil {
		return goal.State{}, err
	}
	if len(hist) == 0 {
		return goal.State{Achieved: true}, nil
	}
	last := hist[len(hist)-1]
	return goal.State{Detail: fmt.Sprintf("revision %d is %s", last.Version, last.Info.Status)}, nil
}

// Achieve uninstalls the release.
func (g *ReleaseUninstalled) Achieve(ctx context.Context) error {
	if err := g.rs.Uninstall(ctx, g.name, ApplyOptions{Wait: g.cfg.wait, Timeout: g.cfg.timeout}); err != nil {
		return &ReleaseError{Release: g.name, Namespace: g.namespace, Op: "uninstalling", Err: err}
	}
	return nil
}

// ManagedByLabel marks the namespaces NamespaceExists creates.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// NamespaceExists is the goal "namespace exists <name>".
type NamespaceExists struct {
	name string
	ns   Namespaces
}

var _ goal.Goal = (*NamespaceExists)(nil)

// NewNamespaceExists returns the goal that the namespace name exists, created through ns when it
// is missing (labelled ManagedByLabel=shiplane).
func NewNamespaceExists(name string, ns Namespaces) *NamespaceExists {
	return &NamespaceExists{name: name, ns: ns}
}

func (g *NamespaceExists) String() string { return "namespace exists " + g.name }

// ErrNamespaceTerminating is a namespace being deleted: nothing can be created in it.
var ErrNamespaceTerminating = errors.New("the namespace is being deleted")

// Assess finds the goal achieved when the namespace exists and is not being deleted.
func (g *NamespaceExists) Assess(ctx context.Context) (goal.State, error) {
	phase, err := g.ns.NamespacePhase(ctx, g.name)
	switch {
	case err != nil:
		return goal.State{}, fmt.Errorf("looking up namespace %s: %w", g.name, err)
	case phase == "":
		return goal.State{Detail: "missing"}, nil
	case phase == "Terminating":
		return goal.State{}, fmt.Errorf("namespace %s: %w; fix: wait until it is gone, or set DEPLOY_NAMESPACE to another namespace", g.name, ErrNamespaceTerminating)
	}
	return goal.State{Achieved: true}, nil
}

// Achieve creates the namespace.
func (g *NamespaceExists) Achieve(ctx context.Context) error {
	if err := g.ns.CreateNamespace(ctx, g.name, map[string]string{ManagedByLabel: "shiplane"}); err != nil {
		return fmt.Errorf("creating namespace %s: %w", g.name, err)
	}
	return nil
}
