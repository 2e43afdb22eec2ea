package lane

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shiplane/shiplane/magefiles/display"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/redact"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// clients are what a publishing lane talks to registries with, and the redacted writer all its
// output goes through.
type clients struct {
	// masks: register secrets with GitHub Actions (::add-mask::) on stdout.
	masks  bool
	stdout io.Writer
	red    *redact.Redactor
	// disp shows the run's progress; out is its writer for every other human line.
	disp   *display.Display
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
	disp := w.newDisplay(red.Writer(w.Config.Progress), red)
	out := disp.Writer()
	regOpts := []registry.Option{registry.WithInsecure(w.Settings.Insecure), registry.WithProgress(out)}
	if w.Config.Observe.Registry != nil {
		regOpts = append(regOpts, registry.WithTransport(w.Config.Observe.Registry(http.DefaultTransport)))
	}
	reg := registry.New(regOpts...)
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
	cl := &clients{red: red, disp: disp, out: out, reg: reg, charts: charts, masks: w.Env.GitHubActions, stdout: w.Config.Stdout}
	if err := cl.registerMasks(); err != nil {
		return nil, err
	}
	return cl, nil
}

// registerMasks, under GitHub Actions, registers every secret the redactor holds (and its
// encoded forms) with ::add-mask:: on stdout, so the runner hides them too; call it again after
// adding secrets. Outside GitHub Actions it does nothing.
func (c *clients) registerMasks() error {
	if !c.masks {
		return nil
	}
	if err := c.red.GitHubMasks(c.stdout); err != nil {
		return fmt.Errorf("registering secrets with GitHub Actions: %w", err)
	}
	return nil
}
