// Package deploy installs, upgrades and uninstalls Helm releases through the Helm v3 SDK, as goals
// named for their end states ("namespace exists shiplane", "release deployed core (shiplane)",
// "release uninstalled core (shiplane)").
//
// The goals use two small interfaces, Releases and Namespaces. Helm implements Releases with
// Helm's own actions (install, upgrade, uninstall) and storage; Connect wires it, and
// KubeNamespaces, to the cluster a kubeconfig names, after checking within seconds that the
// cluster answers. Package deploytest wires Helm to Helm's memory storage and fake kube client
// instead, for the logic that cannot run against a cluster without a kubelet (readiness).
//
// A release is already achieved when its last revision is deployed and carries, in the label
// InputsLabel, the hash of the chart's files and the values the goal would install now: a second
// run with nothing changed writes no new revision.
package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// InputsLabel is the Helm release label that records the hash of the release's inputs: its chart's
// files and the values set on top of them.
const InputsLabel = "shiplane.dev/inputs"

// inputsFormat versions the inputs hash: change it when what is hashed changes.
const inputsFormat = "shiplane deploy inputs v1"

// Release is one Helm release as it should be: which chart, where, with which values.
type Release struct {
	// Component is the component the release deploys; reports name it.
	Component string
	// Name is the release name.
	Name string
	// Namespace is the namespace the release and its objects live in.
	Namespace string
	// Chart is the chart to install (LoadChart).
	Chart *chart.Chart
	// ChartDir is the directory the chart was loaded from; errors name it.
	ChartDir string
	// Values are set on top of the chart's values.yaml; nil means none.
	Values map[string]any
}

// Inputs is the hash of what an install would be made of: the release's name and namespace, every
// file of its chart and subcharts, and its values. It fits a Kubernetes label value.
func (r *Release) Inputs() (string, error) {
	if r.Chart == nil {
		return "", fmt.Errorf("release %s: no chart", r.Name)
	}
	vals, err := json.Marshal(nonNil(r.Values)) // maps marshal with sorted keys
	if err != nil {
		return "", fmt.Errorf("hashing the values of release %s: %w", r.Name, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nrelease %s\nnamespace %s\n", inputsFormat, r.Name, r.Namespace)
	hashChart(h, "", r.Chart)
	fmt.Fprintf(h, "values %d\n", len(vals))
	h.Write(vals)
	// A label value holds at most 63 characters; 48 hex digits keep 192 bits.
	return hex.EncodeToString(h.Sum(nil))[:48], nil
}

func hashChart(h interface{ Write([]byte) (int, error) }, prefix string, c *chart.Chart) {
	files := append([]*chart.File(nil), c.Raw...)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	for _, f := range files {
		fmt.Fprintf(h, "file %s %d\n", path.Join(prefix, f.Name), len(f.Data))
		h.Write(f.Data)
	}
	deps := append([]*chart.Chart(nil), c.Dependencies()...)
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name() < deps[j].Name() })
	for _, d := range deps {
		hashChart(h, path.Join(prefix, "charts", d.Name()), d)
	}
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// LoadChart loads the chart in dir (a directory or a packaged .tgz) and checks that every
// dependency its Chart.yaml declares is present. Problems are *ChartError.
func LoadChart(dir string) (*chart.Chart, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, &ChartError{Chart: path.Base(dir), Dir: dir, Op: "loading", Err: err}
	}
	if ch.Metadata != nil && len(ch.Metadata.Dependencies) > 0 {
		if err := action.CheckDependencies(ch, ch.Metadata.Dependencies); err != nil {
			return nil, &ChartError{Chart: ch.Name(), Dir: dir, File: "Chart.yaml", Op: "loading", Err: err}
		}
	}
	return ch, nil
}

// ChartError is a chart that cannot be installed as it is: it does not load, a template does not
// render, or what it renders is not a valid Kubernetes object. Nothing was sent to the cluster.
type ChartError struct {
	// Chart is the chart's name.
	Chart string
	// Dir is the directory the chart was loaded from.
	Dir string
	// File is the file of the chart at fault ("values.yaml", "templates/service.yaml") when known;
	// otherwise Err names it.
	File string
	// Op is what was being done: "loading", "rendering", "checking".
	Op  string
	Err error
}

func (e *ChartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s chart %s (%s)", e.Op, e.Chart, e.Dir)
	if e.File != "" {
		fmt.Fprintf(&b, ", %s", e.File)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ChartError) Unwrap() error { return e.Err }

// ObjectError is a rendered object whose fields do not have the types Kubernetes expects, such as
// a string where a number belongs, usually because a value has the wrong type.
type ObjectError struct {
	// Kind and Name identify the object ("Deployment", "core").
	Kind, Name string
	Err        error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("%s %q is not a valid %s: %v (check the values it is rendered from)", e.Kind, e.Name, e.Kind, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// ReleaseError is a release the cluster did not accept or that did not become ready: an install,
// upgrade or uninstall that failed. Err holds Helm's and the API server's message.
type ReleaseError struct {
	// Release and Namespace name the release.
	Release, Namespace string
	// Chart and Dir name its chart; empty for an uninstall.
	Chart, Dir string
	// Op is what was being done: "installing", "upgrading", "uninstalling".
	Op  string
	Err error
}

func (e *ReleaseError) Error() string {
	chart := ""
	if e.Chart != "" {
		chart = fmt.Sprintf(" from chart %s (%s)", e.Chart, e.Dir)
	}
	return fmt.Sprintf("%s release %s in namespace %s%s: %v", e.Op, e.Release, e.Namespace, chart, e.Err)
}

func (e *ReleaseError) Unwrap() error { return e.Err }

// ErrPending is a release whose last revision is still pending (an install, upgrade or rollback in
// progress, or one that was interrupted): Helm refuses to change it.
var ErrPending = errors.New("another install, upgrade or rollback of the release is in progress or was interrupted")
