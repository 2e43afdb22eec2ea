package lane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/compose"
	"github.com/shiplane/shiplane/magefiles/display"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// ComposeUpLocal starts the platform with Compose from the images in the local daemon: the compose
// files of the components in no bundle (core and web, then the connectors: topological order),
// then those of each included bundle. include names bundles; COMPOSE_INCLUDE (comma-separated) adds more.
// cfg.Only (else $COMPONENTS) starts only the components named and those they depend on, plus the
// included bundles; an unknown name is refused before anything starts.
// First it assesses the "image built" goals buildAllLocal would run for the components it starts
// (and the images they are built FROM) and builds what is out of date, so the services run the
// working tree; WithoutBuild starts what is there instead, warning about each stale image. Nothing
// is pulled, the shared network is created when missing, and it returns once every service is
// healthy, printing the published URLs on cfg.Stdout. The project is named by
// COMPOSE_PROJECT_NAME, else the files, else the manifest's project; compose/.env supplies
// defaults the environment (cfg.Getenv) overrides.
func ComposeUpLocal(ctx context.Context, cfg Config, include []string, opts ...UpOption) error {
	return annotated(cfg, composeUpLocal(ctx, cfg, include, opts...))
}

func composeUpLocal(ctx context.Context, cfg Config, include []string, opts ...UpOption) error {
	var o upOptions
	for _, opt := range opts {
		opt(&o)
	}
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	include = append(append([]string(nil), include...), ws.Env.ComposeInclude...)
	out := progress.Locked(ws.Config.Progress)
	if err := ws.selectForCompose(out); err != nil {
		return err
	}
	p, err := ws.loadCompose(ctx, include)
	if err != nil {
		return err
	}
	runnerOpts := []compose.Option{}
	if o.noBuild {
		runnerOpts = append(runnerOpts, compose.WithBuildHint(NoBuildHint))
	}
	r, err := ws.composeRunner(ctx, out, runnerOpts...)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := ws.composeImages(ctx, p, include, o, r, out); err != nil {
		return err
	}
	if err := makeBindSources(p, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "compose project %s: up with %s; daemon: %s\n", p.Name, describe(ws, p, include), r.Endpoint())
	if err := r.Up(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(out, "compose project %s is up: %s healthy\n", p.Name, strings.Join(p.Order, ", "))
	for _, e := range p.Endpoints() {
		fmt.Fprintf(ws.Config.Stdout, "%s: %s\n", e.Service, e.URL)
	}
	return nil
}

// NoBuildHint is what a missing image under WithoutBuild tells the user to run.
const NoBuildHint = "go run mage.go composeUpLocal without -nobuild (it builds what is missing), or " + compose.DefaultBuildHint

// UpOption configures ComposeUpLocal.
type UpOption func(*upOptions)

type upOptions struct {
	noBuild bool
	daemon  func(build.Daemon) build.Daemon
}

// WithoutBuild starts the images that are there (composeUpLocal -nobuild): nothing is built, each
// image that is out of date for the working tree is named in a warning with the fix, and a missing
// one is refused before anything starts. Default: what is out of date is built first.
func WithoutBuild() UpOption { return func(o *upOptions) { o.noBuild = true } }

// WithBuildDaemon wraps the daemon the image goals assess and build through (a test's
// buildtest.Counting). Default: the run's daemon, unwrapped.
func WithBuildDaemon(wrap func(build.Daemon) build.Daemon) UpOption {
	return func(o *upOptions) { o.daemon = wrap }
}

// composeImages assesses the image goals of the components p starts (composeComponents) and the
// images they are built FROM, for the daemon's own platform as buildAllLocal builds them; it
// builds what is out of date, or with o.noBuild refuses missing images and warns about stale ones.
func (w *Workspace) composeImages(ctx context.Context, p *compose.Project, include []string, o upOptions, r *compose.Runner, out io.Writer) error {
	started, err := w.Selection.composeComponents(w.Manifest, include)
	if err != nil {
		return err
	}
	var asked []string
	for _, c := range started {
		if c.Image != nil {
			asked = append(asked, c.Name)
		}
	}
	if len(asked) == 0 {
		return nil
	}
	comps := Selection{Asked: asked}.filter(w.Manifest, imageFrom, w.Manifest.Components)
	dc, err := w.Daemon(ctx)
	if err != nil {
		return err
	}
	defer dc.Close()
	if w.Targets, err = LocalTargets(ctx, dc, ""); err != nil {
		return err
	}
	var d build.Daemon = dc
	if o.daemon != nil {
		d = o.daemon(d)
	}
	disp := w.localDisplay()
	defer disp.Close()
	nodes := w.buildNodes(comps, d, build.WithProgress(disp.Writer()))
	if err := w.CheckForeignRuns(nodes); err != nil {
		return err
	}
	plan := goal.New(goal.WithWorkers(w.Config.Workers), goal.WithDryRun(true), goal.WithProgress(io.Discard)).Run(ctx, nodes)
	var stale []goal.Result
	for _, res := range plan.Results {
		switch res.Status {
		case goal.AlreadyAchieved:
		case goal.Failed:
			return fmt.Errorf("checking whether %s's image is up to date: %w", res.Component, res.Err)
		default:
			stale = append(stale, res)
		}
	}
	if len(stale) == 0 {
		fmt.Fprintf(out, "images up to date: %s\n", strings.Join(resultNames(plan.Results), ", "))
		return nil
	}
	if o.noBuild {
		if err := r.CheckImages(ctx, p); err != nil {
			return err
		}
		w.warnStale(out, p, stale, asked)
		return nil
	}
	fmt.Fprintf(out, "building what is out of date first: %s\n", strings.Join(resultNames(stale), ", "))
	rep := w.runLocal(ctx, disp, nodes)
	fmt.Fprint(out, display.Table(rep, nil))
	fmt.Fprintln(out, rep.Summary())
	return rep.Err()
}

func resultNames(rs []goal.Result) []string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Component
	}
	return names
}

// warnStale names, for each started component whose image goal is not achieved, the image its
// services run, why it is out of date, and the fix. A stale image only built FROM (base) is
// named through the images built on it, which are stale too.
func (w *Workspace) warnStale(out io.Writer, p *compose.Project, stale []goal.Result, started []string) {
	run := map[string][]string{} // repository -> the service image refs that run it
	for _, im := range p.Images() {
		run[repository(im.Ref)] = append(run[repository(im.Ref)], fmt.Sprintf("%s (service %s)", im.Ref, im.Service))
	}
	isStarted := map[string]bool{}
	for _, n := range started {
		isStarted[n] = true
	}
	var names []string
	for _, res := range stale {
		c := w.Manifest.Component(res.Component)
		if !isStarted[c.Name] {
			continue
		}
		names = append(names, c.Name)
		what := strings.Join(run[w.LocalImage(c)], ", ")
		if what == "" {
			what = w.LocalRef(c, w.Targets.Engine.Platform)
		}
		fmt.Fprintf(out, "warning: %s: %s is out of date (%s); starting it anyway (-nobuild)\n", c.Name, what, res.Reason)
	}
	if len(names) > 0 {
		fmt.Fprintf(out, "warning: fix: go run mage.go buildAllLocal -only=%s, or run composeUpLocal without -nobuild\n", strings.Join(names, ","))
	}
}

// repository is an image reference without its tag or digest ("shiplane/core:1.0" is
// "shiplane/core").
func repository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// ComposeDownLocal stops and removes everything ComposeUpLocal started in the project, whatever
// bundles were included (every bundle's files are loaded), with the project's volumes and orphan
// containers. The shared network stays.
func ComposeDownLocal(ctx context.Context, cfg Config) error {
	ws, err := openManifest(cfg)
	if err != nil {
		return err
	}
	out := progress.Locked(ws.Config.Progress)
	p, err := ws.loadCompose(ctx, ws.Manifest.BundleNames())
	if err != nil {
		return err
	}
	r, err := ws.composeRunner(ctx, out)
	if err != nil {
		return err
	}
	defer r.Close()
	fmt.Fprintf(out, "compose project %s: down; daemon: %s\n", p.Name, r.Endpoint())
	if err := r.Down(ctx, p); err != nil {
		return err
	}
	kept := ""
	if nets := p.SharedNetworks(); len(nets) > 0 {
		kept = "; shared network " + strings.Join(nets, ", ") + " kept"
	}
	fmt.Fprintf(out, "compose project %s is down: containers, networks and volumes removed%s\n", p.Name, kept)
	return nil
}

// UnknownBundleError is an include that names no bundle of the manifest.
type UnknownBundleError struct {
	Name string
	// Valid are the manifest's bundle names, sorted.
	Valid []string
}

func (e *UnknownBundleError) Error() string {
	if len(e.Valid) == 0 {
		return fmt.Sprintf("unknown bundle %q (include or COMPOSE_INCLUDE): the manifest defines no bundles", e.Name)
	}
	return fmt.Sprintf("unknown bundle %q (include or COMPOSE_INCLUDE); valid bundles: %s; %s",
		e.Name, strings.Join(e.Valid, ", "), manifest.Suggest(e.Name, e.Valid))
}

// selectBundles resolves bundle names (blank ones and repeats ignored), in the order given.
func selectBundles(m *manifest.Manifest, names []string) ([]*manifest.Bundle, error) {
	var out []*manifest.Bundle
	seen := map[string]bool{}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		b := m.Bundle(name)
		if b == nil {
			return nil, &UnknownBundleError{Name: name, Valid: m.BundleNames()}
		}
		out = append(out, b)
	}
	return out, nil
}

// ComposeFiles returns the compose files (manifest paths) layered when the named bundles are
// included: every component in no bundle, level by level (dependencies first, by name within a
// level), then each bundle's components in the same order, bundle after bundle. Blank and repeated
// names are ignored; an unknown one is an *UnknownBundleError.
func ComposeFiles(m *manifest.Manifest, include []string) ([]string, error) {
	return Selection{}.ComposeFiles(m, include)
}

// ComposeFiles returns the compose files (manifest paths) layered for the selection and the named
// bundles: as the package's ComposeFiles, except that when components were selected they replace
// the components in no bundle: the selected ones and, transitively, those they depend on (in a
// bundle or not), in the same order.
func (s Selection) ComposeFiles(m *manifest.Manifest, include []string) ([]string, error) {
	comps, err := s.composeComponents(m, include)
	if err != nil {
		return nil, err
	}
	var files []string
	seen := map[string]bool{}
	for _, c := range comps {
		if !seen[c.Compose] {
			seen[c.Compose] = true
			files = append(files, c.Compose)
		}
	}
	return files, nil
}

// composeComponents are the components whose compose files ComposeFiles layers, in its order.
func (s Selection) composeComponents(m *manifest.Manifest, include []string) ([]*manifest.Component, error) {
	bundles, err := selectBundles(m, include)
	if err != nil {
		return nil, err
	}
	levels, err := componentLevels(m)
	if err != nil {
		return nil, err
	}
	var comps []*manifest.Component
	seen := map[string]bool{}
	add := func(keep func(*manifest.Component) bool) {
		for _, level := range levels {
			for _, c := range level {
				if c.Compose != "" && keep(c) && !seen[c.Name] {
					seen[c.Name] = true
					comps = append(comps, c)
				}
			}
		}
	}
	if s.All() {
		add(func(c *manifest.Component) bool { return c.Bundle == "" })
	} else {
		in := s.closure(m, dependsOn)
		add(func(c *manifest.Component) bool { return in[c.Name] })
	}
	for _, b := range bundles {
		add(func(c *manifest.Component) bool { return c.Bundle == b.Name })
	}
	return comps, nil
}

// loadCompose layers the compose files for the included bundles into one project whose directory
// is the first file's.
func (w *Workspace) loadCompose(ctx context.Context, include []string) (*compose.Project, error) {
	files, err := w.Selection.ComposeFiles(w.Manifest, include)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no component has a compose file; add compose: <file> to the components to run", w.Manifest.File)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = w.Path(f)
	}
	return compose.Load(ctx, filepath.Dir(paths[0]), paths,
		compose.WithGetenv(w.Env.Getenv),
		compose.WithDefaultName(w.Manifest.Project))
}

func (w *Workspace) composeRunner(ctx context.Context, out io.Writer, opts ...compose.Option) (*compose.Runner, error) {
	ep, err := w.DockerEndpoint()
	if err != nil {
		return nil, err
	}
	return compose.New(ctx, append([]compose.Option{compose.WithProgress(out), compose.WithEndpoint(ep)}, opts...)...)
}

// describe says which files and bundles a project is made of.
func describe(w *Workspace, p *compose.Project, include []string) string {
	files := make([]string, len(p.ComposeFiles))
	for i, f := range p.ComposeFiles {
		if rel, err := filepath.Rel(w.Config.Root, f); err == nil {
			f = filepath.ToSlash(rel)
		}
		files[i] = path.Clean(f)
	}
	s := strings.Join(files, " + ")
	var names []string
	seen := map[string]bool{}
	for _, b := range include {
		if b = strings.TrimSpace(b); b != "" && !seen[b] {
			seen[b] = true
			names = append(names, b)
		}
	}
	if len(names) > 0 {
		s += " (bundles: " + strings.Join(names, ", ") + ")"
	}
	return s
}

// makeBindSources creates missing bind-mounted folders writable by every user: left to the daemon
// they would be root-owned, and the services run as a non-root user (connector-fs moves the files
// it has submitted into its inbox's processed/ folder).
func makeBindSources(p *compose.Project, out io.Writer) error {
	for _, src := range p.BindSources() {
		if _, err := os.Stat(src); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.MkdirAll(src, 0o777); err != nil {
			return fmt.Errorf("creating the bind-mounted folder %s: %w", src, err)
		}
		if err := os.Chmod(src, 0o777); err != nil { // MkdirAll's mode passes through the umask
			return fmt.Errorf("making %s writable for the containers' non-root user: %w", src, err)
		}
		fmt.Fprintf(out, "created %s (bind-mounted; writable by the containers)\n", src)
	}
	return nil
}
