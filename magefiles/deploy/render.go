package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// Render renders r's chart with its values the way `helm template` does, without a cluster, and
// checks that every object it renders decodes into its Kubernetes type. It returns the manifest
// (Helm's order, each document headed by "# Source: <chart>/<file>"). A template that does not
// render or an object with a wrongly typed field is a *ChartError naming the chart and the file.
func Render(ctx context.Context, r *Release) (string, error) {
	if r.Chart == nil {
		return "", fmt.Errorf("rendering release %s: no chart", r.Name)
	}
	in := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	in.DryRun = true
	in.ClientOnly = true
	in.ReleaseName = r.Name
	in.Namespace = r.Namespace
	in.DisableHooks = true
	vals, err := copyValues(r.Values)
	if err != nil {
		return "", fmt.Errorf("rendering release %s: %w", r.Name, err)
	}
	rel, err := in.RunWithContext(ctx, r.Chart, vals)
	if err != nil {
		return "", &ChartError{Chart: r.Chart.Name(), Dir: r.ChartDir, Op: "rendering", Err: err}
	}
	if err := checkObjects(r, rel.Manifest); err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

// checkObjects decodes every rendered object of a kind client-go knows into its Go type, so that a
// field of the wrong type is reported before anything is sent to the cluster. Unknown fields and
// values the API server would refuse are left for the server to judge.
func checkObjects(r *Release, manifest string) error {
	for _, doc := range releaseutil.SplitManifests(manifest) {
		file := sourceFile(r.Chart.Name(), doc)
		data, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return &ChartError{Chart: r.Chart.Name(), Dir: r.ChartDir, File: file, Op: "checking", Err: err}
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if string(data) == "null" {
			continue // an empty document
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			return &ChartError{Chart: r.Chart.Name(), Dir: r.ChartDir, File: file, Op: "checking", Err: err}
		}
		gv, err := schema.ParseGroupVersion(meta.APIVersion)
		if err != nil {
			return &ChartError{Chart: r.Chart.Name(), Dir: r.ChartDir, File: file, Op: "checking", Err: err}
		}
		obj, err := scheme.Scheme.New(gv.WithKind(meta.Kind))
		if err != nil {
			continue // a kind client-go does not know (a CRD's): the server checks it
		}
		if err := json.Unmarshal(data, obj); err != nil {
			return &ChartError{Chart: r.Chart.Name(), Dir: r.ChartDir, File: file, Op: "checking",
				Err: &ObjectError{Kind: meta.Kind, Name: meta.Metadata.Name, Err: err}}
		}
	}
	return nil
}

// sourceFile is the chart file a rendered document came from, from Helm's "# Source:" header,
// relative to the chart ("templates/service.yaml").
func sourceFile(chartName, doc string) string {
	for _, line := range strings.Split(doc, "\n") {
		if src, ok := strings.CutPrefix(line, "# Source: "); ok {
			return strings.TrimPrefix(strings.TrimSpace(src), chartName+"/")
		}
	}
	return ""
}

// copyValues deep-copies values (Helm may modify what it is given).
func copyValues(v map[string]any) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("copying values: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("copying values: %w", err)
	}
	return out, nil
}
