package lane

import (
	"context"
	"io"
	"strings"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/redact"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// clients are what a publishing lane talks to registries with, and the redacted writer all its
// output goes through.
type clients struct {
	red    *redact.Redactor
	out    io.Writer
	reg    *registry.Client
	charts *helm.Client
}

// clients connects to target's image registry and chart repository. Every line printed goes
// through a redactor that hides GITHUB_TOKEN, registry passwords from the environment and the
// keychain's credentials for both hosts, should an answer repeat them.
func (w *Workspace) clients(ctx context.Context, target settings.Target) (*clients, error) {
	red := redact.New()
	for _, v := range w.Env.Secrets {
		red.Add(v)
	}
	out := progress.Locked(red.Writer(w.Config.Progress))
	reg := registry.New(registry.WithInsecure(w.Settings.Insecure), registry.WithProgress(out))
	for _, ref := range []string{target.Registry, strings.TrimPrefix(target.ChartRepo, "oci://")} {
		if host, _, _ := strings.Cut(ref, "/"); host != "" {
			red.Add(reg.Secrets(ctx, host)...)
		}
	}
	// Charts go through the image client's retrying transport: Helm's own retries neither a reset
	// connection nor a cut-off answer. Helm decides which hosts it reaches over plain HTTP.
	chartTransport := registry.NewTransport(registry.WithInsecure(func(string) bool { return true }))
	charts, err := helm.NewClient(helm.WithClientProgress(out), helm.WithInsecureHosts(w.Settings.InsecureRegistries...),
		helm.WithTransport(chartTransport))
	if err != nil {
		return nil, err
	}
	return &clients{red: red, out: out, reg: reg, charts: charts}, nil
}
