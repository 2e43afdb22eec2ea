package lane

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
)

// DefaultDeployNamespace is the namespace the local deploy lane uses when DEPLOY_NAMESPACE is empty.
const DefaultDeployNamespace = "shiplane"

// LocalPullPolicy is the image pull policy of the local deploy lane: the images are the ones
// buildAllLocal put in the local daemon, never pulled from a registry.
const LocalPullPolicy = "IfNotPresent"

// DeploySettings are the local deploy lane's settings, read from the environment by
// LocalDeploySettings.
type DeploySettings struct {
	// Kubeconfig is $KUBECONFIG (a list of files); empty means ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context deployed to: Config.KubeContext (-context), else
	// $KUBE_CONTEXT. Default (""): the kubeconfig's current-context.
	Context string
	// ContextFrom says what chose Context: "-context" or "KUBE_CONTEXT" ("" for the current-context).
	ContextFrom string
	// Namespace is $DEPLOY_NAMESPACE. Default: DefaultDeployNamespace.
	Namespace string
	// Wait is $DEPLOY_WAIT (1, true, yes or on): wait until every release's objects are ready
	// (and, for deployDownLocal, gone). Default: false.
	Wait bool
	// Timeout is $DEPLOY_TIMEOUT (a Go duration such as 90s or 5m), bounding each release's install,
	// upgrade or uninstall, waits included. Default: deploy.DefaultTimeout.
	Timeout time.Duration
}

// SettingError is an environment setting with a value that cannot be used.
type SettingError struct {
	Name, Value string
	Problem     string
	Fix         string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%s=%q: %s; fix: %s", e.Name, e.Value, e.Problem, e.Fix)
}

// ValuesError is a chart's values.yaml that does not have what the local deploy lane sets or reads:
// image must be a mapping, a dependency's url a string, service.port a port number.
type ValuesError struct {
	// Chart is the chart's name; File its values file as a manifest path ("charts/core/values.yaml").
	Chart, File string
	// Key is the dotted key at fault ("service.port").
	Key     string
	Problem string
}

func (e *ValuesError) Error() string {
	return fmt.Sprintf("chart %s: %s: %s %s", e.Chart, e.File, e.Key, e.Problem)
}

// DeployAllLocal installs or upgrades one Helm release per component chart, named after the
// component, in topological order, from the chart directories of the work tree into the context
// cfg.KubeContext (-context), else $KUBE_CONTEXT, else the current context of $KUBECONFIG (else
// ~/.kube/config), in namespace $DEPLOY_NAMESPACE (default shiplane), created when missing. Each
// release runs the images buildAllLocal tagged (<project>/<image>:<version>, pull policy
// IfNotPresent) and reaches the releases it depends on by their Service names; for a kind or k3d
// cluster it first says how to load those images (ClusterImagesAdvice). Every chart is loaded and
// rendered before the cluster is contacted, so a chart that cannot render touches no release; a
// context the kubeconfig lacks is refused (*deploy.UnknownContextError, listing its contexts), and
// a cluster that does not answer within seconds is a *deploy.UnreachableError. A release whose last revision is deployed from the same chart files and
// values is left alone (no new revision). With DEPLOY_WAIT=1 each install or upgrade waits until
// its objects are ready, up to $DEPLOY_TIMEOUT.
func DeployAllLocal(ctx context.Context, cfg Config) error {
	return annotated(cfg, deployAllLocal(ctx, cfg))
}

func deployAllLocal(ctx context.Context, cfg Config) error {
	ws, err := openDeploy(cfg)
	if err != nil {
		return err
	}
	s, err := ws.LocalDeploySettings()
	if err != nil {
		return err
	}
	rels, err := ws.LocalReleases(ctx, s.Namespace)
	if err != nil {
		return err
	}
	cl, err := s.connect(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(ws.Config.Progress, "deploying %d releases into namespace %s: context %q, server %s (Kubernetes %s), %s%s\n",
		len(rels), s.Namespace, cl.Context, cl.Server, cl.Version, s.contextNote(), waitNote(s))
	if advice := ws.ClusterImagesAdvice(cl.Context, cl.ClusterName); advice != "" {
		fmt.Fprintln(ws.Config.Progress, advice)
	}
	return ws.finish(ws.RunLocalDeploy(ctx, rels, cl.Namespaces, cl.Helm, s))
}

// DeployDownLocal uninstalls the releases DeployAllLocal installs (one per component chart),
// dependents before what they depend on, from namespace $DEPLOY_NAMESPACE of the kube context
// DeployAllLocal uses, and reports. Releases already gone are reported as already achieved. The
// namespace is kept.
func DeployDownLocal(ctx context.Context, cfg Config) error {
	return annotated(cfg, deployDownLocal(ctx, cfg))
}

func deployDownLocal(ctx context.Context, cfg Config) error {
	ws, err := openDeploy(cfg)
	if err != nil {
		return err
	}
	s, err := ws.LocalDeploySettings()
	if err != nil {
		return err
	}
	cl, err := s.connect(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(ws.Config.Progress, "uninstalling releases from namespace %s: context %q, server %s, %s%s\n",
		s.Namespace, cl.Context, cl.Server, s.contextNote(), waitNote(s))
	if err := ws.finish(ws.RunLocalUndeploy(ctx, cl.Helm, s)); err != nil {
		return err
	}
	fmt.Fprintf(ws.Config.Progress, "namespace %s kept\n", s.Namespace)
	return nil
}

func waitNote(s DeploySettings) string {
	if s.Wait {
		return fmt.Sprintf("; waiting up to %s per release for readiness", s.Timeout)
	}
	return "; not waiting for readiness (DEPLOY_WAIT=1 waits)"
}

// openDeploy loads what the deploy lane needs: the manifest and its topological levels. Like
// openManifest it reads no git facts or settings file: a deploy works in any checkout.
func openDeploy(cfg Config) (*Workspace, error) {
	ws, err := openManifest(cfg)
	if err != nil {
		return nil, err
	}
	if ws.Levels, err = componentLevels(ws.Manifest); err != nil {
		return nil, err
	}
	return ws, nil
}

// LocalDeploySettings validates the deploy lane's settings, read from the environment in Open.
func (w *Workspace) LocalDeploySettings() (DeploySettings, error) {
	s := DeploySettings{
		Kubeconfig: w.Env.Kubeconfig,
		Namespace:  w.Env.DeployNamespace,
		Timeout:    deploy.DefaultTimeout,
	}
	if s.Context = strings.TrimSpace(w.Config.KubeContext); s.Context != "" {
		s.ContextFrom = "-context"
	} else if s.Context = w.Env.KubeContext; s.Context != "" {
		s.ContextFrom = "KUBE_CONTEXT"
	}
	if s.Namespace == "" {
		s.Namespace = DefaultDeployNamespace
	}
	if problems := validation.IsDNS1123Label(s.Namespace); len(problems) > 0 {
		return s, &SettingError{Name: "DEPLOY_NAMESPACE", Value: s.Namespace, Problem: "not a valid namespace name: " + strings.Join(problems, "; "),
			Fix: "use lower-case letters, digits and dashes, or unset it for " + DefaultDeployNamespace}
	}
	if v := w.Env.DeployWait; v != "" {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			s.Wait = true
		case "0", "false", "no", "off":
		default:
			return s, &SettingError{Name: "DEPLOY_WAIT", Value: v, Problem: "not a boolean", Fix: "set DEPLOY_WAIT=1 to wait for readiness, or unset it"}
		}
	}
	if v := w.Env.DeployTimeout; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, &SettingError{Name: "DEPLOY_TIMEOUT", Value: v, Problem: "not a positive duration", Fix: "write it like 90s or 5m, or unset it for " + deploy.DefaultTimeout.String()}
		}
		s.Timeout = d
	}
	return s, nil
}

// deployComponents are the components with a chart, in topological order.
func (w *Workspace) deployComponents() []*manifest.Component {
	var out []*manifest.Component
	for _, level := range w.Levels {
		for _, c := range level {
			if c.Chart != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// chartDeps are the components with a chart that c depends on, directly or through components
// without one.
func (w *Workspace) chartDeps(c *manifest.Component) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*manifest.Component)
	walk = func(c *manifest.Component) {
		for _, name := range c.DependsOn {
			if seen[name] {
				continue
			}
			seen[name] = true
			d := w.Manifest.Component(name)
			if d == nil {
				continue
			}
			if d.Chart != "" {
				out = append(out, name)
				continue
			}
			walk(d)
		}
	}
	walk(c)
	return out
}

// LocalReleases loads every component chart, sets the local lane's values and renders it, without
// contacting a cluster: one release per component chart, named after the component, in
// topological order. Every problem is reported (joined): *deploy.ChartError for a chart that does
// not load, render or decode, *ValuesError for a values.yaml the lane cannot work with.
func (w *Workspace) LocalReleases(ctx context.Context, namespace string) ([]*deploy.Release, error) {
	comps := w.deployComponents()
	charts := make(map[string]*chart.Chart, len(comps))
	var errs []error
	for _, c := range comps {
		ch, err := deploy.LoadChart(w.Path(c.Chart))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		charts[c.Name] = ch
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rels := make([]*deploy.Release, 0, len(comps))
	for _, c := range comps {
		vals, err := w.localValues(c, comps, charts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := &deploy.Release{
			Component: c.Name,
			Name:      c.Name,
			Namespace: namespace,
			Chart:     charts[c.Name],
			ChartDir:  w.Path(c.Chart),
			Values:    vals,
		}
		if _, err := deploy.Render(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		rels = append(rels, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rels, nil
}

// localValues are the values the local lane sets on c's chart:
//   - image.repository <project>/<image>, image.tag the component's version, image.pullPolicy
//     IfNotPresent: the images buildAllLocal tagged;
//   - fullnameOverride the release name, when the chart has that key, so its Service is named
//     after the release;
//   - <other>.url http://<other>:<other's service.port> for every other component deployed here
//     whose name is a key of c's values with an empty url (core's scanner.url, the connectors'
//     core.url): each release reaches the others by their Service names.
func (w *Workspace) localValues(c *manifest.Component, comps []*manifest.Component, charts map[string]*chart.Chart) (map[string]any, error) {
	ch := charts[c.Name]
	file := path.Join(c.Chart, "values.yaml")
	bad := func(key, problem string) error {
		return &ValuesError{Chart: ch.Name(), File: file, Key: key, Problem: problem}
	}
	defaults := ch.Values
	vals := map[string]any{}
	if c.Image != nil {
		if v, ok := defaults["image"]; ok && !isMap(v) {
			return nil, bad("image", fmt.Sprintf("must be a mapping with repository, tag and pullPolicy, not %s", describeValue(v)))
		}
		vals["image"] = map[string]any{
			"repository": w.LocalImage(c),
			"tag":        c.Version,
			"pullPolicy": LocalPullPolicy,
		}
	}
	if v, ok := defaults["fullnameOverride"]; ok {
		if _, isString := v.(string); !isString && v != nil {
			return nil, bad("fullnameOverride", fmt.Sprintf("must be a string, not %s", describeValue(v)))
		}
		vals["fullnameOverride"] = c.Name
	}
	for _, d := range comps {
		if d == c {
			continue
		}
		sub, ok := defaults[d.Name]
		if !ok {
			continue
		}
		m, isMapping := sub.(map[string]any)
		if !isMapping {
			continue // not a reference to the component
		}
		u, hasURL := m["url"]
		if !hasURL {
			continue
		}
		if s, isString := u.(string); !isString && u != nil {
			return nil, bad(d.Name+".url", fmt.Sprintf("must be a string, not %s", describeValue(u)))
		} else if s != "" {
			continue // the chart says where it is
		}
		port, err := servicePort(d, charts[d.Name])
		if err != nil {
			return nil, err
		}
		if port == 0 {
			continue // no Service port to point at
		}
		vals[d.Name] = map[string]any{"url": fmt.Sprintf("http://%s:%d", d.Name, port)}
	}
	return vals, nil
}

// servicePort is service.port of d's chart values, or 0 when it has none.
func servicePort(d *manifest.Component, ch *chart.Chart) (int, error) {
	svc, ok := ch.Values["service"].(map[string]any)
	if !ok {
		return 0, nil
	}
	v, ok := svc["port"]
	if !ok {
		return 0, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, &ValuesError{Chart: ch.Name(), File: path.Join(d.Chart, "values.yaml"), Key: "service.port",
			Problem: fmt.Sprintf("must be a port number, not %s", describeValue(v))}
	}
	if f != math.Trunc(f) || f < 1 || f > 65535 {
		return 0, &ValuesError{Chart: ch.Name(), File: path.Join(d.Chart, "values.yaml"), Key: "service.port",
			Problem: fmt.Sprintf("must be a port number (1-65535), not %v", v)}
	}
	return int(f), nil
}

func isMap(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

func describeValue(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return "the string " + strconv.Quote(t)
	case bool:
		return fmt.Sprintf("the boolean %v", t)
	case float64, int, int64:
		return fmt.Sprintf("the number %v", t)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("a %T", v)
}

// LocalDeployNodes returns the goals of a local deploy: "namespace exists <namespace>" first, then
// one "release deployed" goal per release, each after the namespace and after the releases of the
// components it depends on. opts are passed to every release goal.
func (w *Workspace) LocalDeployNodes(rels []*deploy.Release, ns deploy.Namespaces, rs deploy.Releases, opts ...deploy.GoalOption) []*goal.Node {
	if len(rels) == 0 {
		return nil
	}
	nsNode := &goal.Node{Goal: deploy.NewNamespaceExists(rels[0].Namespace, ns)}
	nodes := []*goal.Node{nsNode}
	byName := map[string]*goal.Node{}
	for _, r := range rels {
		n := &goal.Node{Component: r.Component, Goal: deploy.NewReleaseDeployed(r, rs, opts...), After: []*goal.Node{nsNode}}
		if c := w.Manifest.Component(r.Component); c != nil {
			for _, dep := range w.chartDeps(c) {
				if d := byName[dep]; d != nil {
					n.After = append(n.After, d)
				}
			}
		}
		byName[r.Component] = n
		nodes = append(nodes, n)
	}
	return nodes
}

// LocalUndeployNodes returns one "release uninstalled" goal per component chart, in reverse
// topological order, each after the goals of the components that depend on it.
func (w *Workspace) LocalUndeployNodes(namespace string, rs deploy.Releases, opts ...deploy.GoalOption) []*goal.Node {
	comps := w.deployComponents()
	byName := map[string]*goal.Node{}
	nodes := make([]*goal.Node, 0, len(comps))
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		n := &goal.Node{Component: c.Name, Goal: deploy.NewReleaseUninstalled(c.Name, namespace, rs, opts...)}
		byName[c.Name] = n
		nodes = append(nodes, n)
	}
	for _, c := range comps {
		for _, dep := range w.chartDeps(c) {
			if d := byName[dep]; d != nil {
				d.After = append(d.After, byName[c.Name])
			}
		}
	}
	return nodes
}

func (s DeploySettings) goalOptions() []deploy.GoalOption {
	return []deploy.GoalOption{deploy.WithWait(s.Wait), deploy.WithTimeout(s.Timeout)}
}

// RunLocalDeploy runs the deploy goals for rels against ns and rs and returns the report, without
// printing the summary or writing the report file.
func (w *Workspace) RunLocalDeploy(ctx context.Context, rels []*deploy.Release, ns deploy.Namespaces, rs deploy.Releases, s DeploySettings) *goal.Report {
	disp := w.localDisplay()
	defer disp.Close()
	return w.runLocal(ctx, disp, w.LocalDeployNodes(rels, ns, rs, s.goalOptions()...))
}

// RunLocalUndeploy runs the uninstall goals against rs and returns the report, without printing
// the summary or writing the report file.
func (w *Workspace) RunLocalUndeploy(ctx context.Context, rs deploy.Releases, s DeploySettings) *goal.Report {
	disp := w.localDisplay()
	defer disp.Close()
	return w.runLocal(ctx, disp, w.LocalUndeployNodes(s.Namespace, rs, s.goalOptions()...))
}
