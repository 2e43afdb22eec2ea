package helm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// LintOption configures LintChart.
type LintOption func(*lintConfig)

type lintConfig struct {
	values    map[string]any
	namespace string
}

// WithLintValues lints with these values merged over the chart's values.yaml.
// Default: none (the chart's own values).
func WithLintValues(values map[string]any) LintOption {
	return func(c *lintConfig) { c.values = values }
}

// WithLintNamespace renders templates for this namespace. Default: "default".
func WithLintNamespace(ns string) LintOption {
	return func(c *lintConfig) { c.namespace = ns }
}

// LintChart lints the chart in dir strictly, as `helm lint --strict` does: a warning fails like an
// error. It returns a *LintError naming the chart and the file of every finding. dir is read, never
// written. A chart with file:// dependencies lints only once they are vendored (see PackageChart,
// which lints its prepared copy).
func LintChart(ctx context.Context, dir string, opts ...LintOption) error {
	cfg := lintConfig{namespace: "default"}
	for _, o := range opts {
		o(&cfg)
	}
	return lintDir(ctx, dir, dir, cfg)
}

// lintDir lints dir, reporting paths as if the chart were at shown.
func lintDir(ctx context.Context, dir, shown string, cfg lintConfig) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("linting chart %s: %w", shown, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("linting chart %s: %w", shown, err)
	}
	name := shown
	if md, err := chartutil.LoadChartfile(filepath.Join(abs, chartutil.ChartfileName)); err == nil && md.Name != "" {
		name = md.Name
	} else if os.IsNotExist(err) {
		return fmt.Errorf("linting chart %s: %w", shown, err)
	}
	values := cfg.values
	if values == nil {
		values = map[string]any{}
	}
	linter := lint.AllWithKubeVersionAndSchemaValidation(abs, values, cfg.namespace, nil, false)
	var problems []LintProblem
	for _, m := range linter.Messages {
		if m.Severity < support.WarningSev {
			continue
		}
		sev := "WARNING"
		if m.Severity >= support.ErrorSev {
			sev = "ERROR"
		}
		msg := ""
		if m.Err != nil {
			msg = strings.ReplaceAll(m.Err.Error(), abs, shown)
		}
		problems = append(problems, LintProblem{Severity: sev, File: lintFile(abs, m.Path), Message: msg})
	}
	if len(problems) > 0 {
		return &LintError{Chart: name, Dir: shown, Problems: problems}
	}
	return nil
}

// lintFile turns a lint message's path into a path relative to the chart directory. The
// dependency rules report the chart directory itself: their subject is Chart.yaml's dependencies.
func lintFile(chartDir, p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		return filepath.ToSlash(p)
	}
	rel, err := filepath.Rel(chartDir, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.Base(p)
	}
	if rel == "." {
		return chartutil.ChartfileName
	}
	return filepath.ToSlash(rel)
}
