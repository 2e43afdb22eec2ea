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

	"github.com/shiplane/shiplane/magefiles/compose"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// ComposeUpLocal starts the platform with Compose from the images in the local daemon: the compose
// files of the components in no bundle (core, then the connectors: topological order), then those
// of each included bundle. include names bundles; COMPOSE_INCLUDE (comma-separated) adds more.
// Every service image must already be built (nothing is pulled), the shared network is created
// when missing, and it returns once every service is healthy, printing the published URLs on
// cfg.Stdout. The project is named by COMPOSE_PROJECT_NAME, else the files, else the manifest's
// project; compose/.env supplies defaults the environment (cfg.Getenv) overrides.
func ComposeUpLocal(ctx context.Context, cfg Config, include []string) error {
	ws, err := openManifest(cfg)
	if err != nil {
		return err
	}
	include = append(append([]string(nil), include...), ws.Env.ComposeInclude...)
	out := progress.Locked(ws.Config.Progress)
	p, err := ws.loadCompose(ctx, include)
	if err != nil {
		return err
	}
	r, err := ws.composeRunner(ctx, out)
	if err != nil {
		return err
	}
	defer r.Close()
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
	bundles, err := selectBundles(m, include)
	if err != nil {
		return nil, err
	}
	levels, err := componentLevels(m)
	if err != nil {
		return nil, err
	}
	var files []string
	seen := map[string]bool{}
	add := func(bundle string) {
		for _, level := range levels {
			for _, c := range level {
				if c.Compose != "" && c.Bundle == bundle && !seen[c.Compose] {
					seen[c.Compose] = true
					files = append(files, c.Compose)
				}
			}
		}
	}
	add("")
	for _, b := range bundles {
		add(b.Name)
	}
	return files, nil
}

// loadCompose layers the compose files for the included bundles into one project whose directory
// is the first file's.
func (w *Workspace) loadCompose(ctx context.Context, include []string) (*compose.Project, error) {
	files, err := ComposeFiles(w.Manifest, include)
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

func (w *Workspace) composeRunner(ctx context.Context, out io.Writer) (*compose.Runner, error) {
	ep, err := w.DockerEndpoint()
	if err != nil {
		return nil, err
	}
	return compose.New(ctx,
		compose.WithProgress(out),
		compose.WithEndpoint(ep))
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
