// Package compose is shiplane's Compose backend: it layers compose files into one project with
// compose-go, creates the shared (external) networks the project uses, and brings the project up
// and down through the Compose SDK (github.com/docker/compose/v5), never through a CLI.
//
// Loading is pure (files and environment in, *Project out); Runner does the I/O.
package compose

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/compose/v5/pkg/api"
	"go.yaml.in/yaml/v3"
)

// Project is a loaded, interpolated compose project: the compose-go model plus the order in which
// the layered files introduced its services.
type Project struct {
	*types.Project
	// Order is every service name in the order the files first declare it.
	Order []string
}

// LoadOption configures Load.
type LoadOption func(*loadOptions)

type loadOptions struct {
	name        string
	defaultName string
	getenv      func(string) string
	environ     func() []string
}

// WithName sets the project name, overriding everything else. Default: "" (see WithDefaultName).
func WithName(name string) LoadOption { return func(o *loadOptions) { o.name = name } }

// WithDefaultName names the project when nothing else does. The precedence is: WithName,
// COMPOSE_PROJECT_NAME (process environment, then the .env file), a top-level `name:` in the
// files, this default, the compose directory's base name. Default: "".
func WithDefaultName(name string) LoadOption { return func(o *loadOptions) { o.defaultName = name } }

// WithGetenv reads the process environment through getenv. The loader asks it for every variable
// the compose files and the .env file mention and for every variable of os.Environ() (so COMPOSE_*
// settings and bare `environment:` entries resolve as with the compose CLI); an empty answer
// counts as unset. Its answers override the .env file. Default: os.Getenv.
func WithGetenv(getenv func(string) string) LoadOption {
	return func(o *loadOptions) { o.getenv = getenv }
}

// Load layers files (in order: later files override and extend earlier ones) into one project
// whose directory is dir: relative paths in the files resolve against dir, and dir/.env, when
// present, supplies defaults for interpolation that the process environment overrides. Relative
// file names are relative to dir.
func Load(ctx context.Context, dir string, files []string, opts ...LoadOption) (*Project, error) {
	o := loadOptions{getenv: os.Getenv, environ: os.Environ}
	for _, opt := range opts {
		opt(&o)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("loading compose project in %s: no compose files given", dir)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving compose directory %s: %w", dir, err)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(absDir, f)
		}
		paths[i] = f
	}

	scan, err := scanFiles(paths)
	if err != nil {
		return nil, err
	}
	dotEnvPath := filepath.Join(absDir, ".env")
	dotEnv, err := readDotEnv(dotEnvPath)
	if err != nil {
		return nil, err
	}

	names := map[string]bool{consts.ComposeProjectName: true}
	for _, kv := range o.environ() {
		if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
			names[k] = true
		}
	}
	for k := range scan.variables {
		names[k] = true
	}
	for k := range dotEnv {
		names[k] = true
	}
	var env []string
	for k := range names {
		if v := o.getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)

	name := o.name
	if name == "" && o.defaultName != "" && !scan.named &&
		o.getenv(consts.ComposeProjectName) == "" && dotEnv[consts.ComposeProjectName] == "" {
		name = o.defaultName
	}

	fns := []cli.ProjectOptionsFn{
		cli.WithWorkingDirectory(absDir),
		cli.WithEnv(env),
		cli.WithName(name),
	}
	if dotEnv != nil {
		fns = append(fns, cli.WithEnvFiles(dotEnvPath), cli.WithDotEnv)
	}
	po, err := cli.NewProjectOptions(paths, fns...)
	if err != nil {
		return nil, fmt.Errorf("loading compose project from %s: %w", strings.Join(files, ", "), err)
	}
	p, err := po.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading compose project from %s: %w", strings.Join(files, ", "), err)
	}
	labelServices(p, po.EnvFiles)

	order := make([]string, 0, len(p.Services))
	seen := map[string]bool{}
	for _, s := range scan.services {
		if _, ok := p.Services[s]; ok && !seen[s] {
			seen[s] = true
			order = append(order, s)
		}
	}
	rest := make([]string, 0)
	for s := range p.Services {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return &Project{Project: p, Order: append(order, rest...)}, nil
}

// labelServices stamps the labels the Compose SDK's own loader adds (the SDK finds a project's
// containers by them, so down works from the project name alone).
func labelServices(p *types.Project, envFiles []string) {
	for name, s := range p.Services {
		s.CustomLabels = map[string]string{
			api.ProjectLabel:     p.Name,
			api.ServiceLabel:     name,
			api.VersionLabel:     api.ComposeVersion,
			api.WorkingDirLabel:  p.WorkingDir,
			api.ConfigFilesLabel: strings.Join(p.ComposeFiles, ","),
			api.OneoffLabel:      "False",
		}
		if len(envFiles) != 0 {
			s.CustomLabels[api.EnvironmentFileLabel] = strings.Join(envFiles, ",")
		}
		p.Services[name] = s
	}
}

type fileScan struct {
	variables map[string]bool
	services  []string
	named     bool
}

// scanFiles reads what the loader needs to know before loading: the variables the files mention,
// the service declaration order and whether a file names the project.
func scanFiles(paths []string) (*fileScan, error) {
	out := &fileScan{variables: map[string]bool{}}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading compose file: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("parsing compose file %s: %w", path, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		var dict map[string]any
		if err := root.Decode(&dict); err != nil {
			return nil, fmt.Errorf("parsing compose file %s: %w", path, err)
		}
		for k := range template.ExtractVariables(dict, template.DefaultPattern) {
			out.variables[k] = true
		}
		if n, ok := dict["name"].(string); ok && n != "" {
			out.named = true
		}
		if root.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "services" || root.Content[i+1].Kind != yaml.MappingNode {
				continue
			}
			svcs := root.Content[i+1]
			for j := 0; j+1 < len(svcs.Content); j += 2 {
				out.services = append(out.services, svcs.Content[j].Value)
			}
		}
	}
	return out, nil
}

// readDotEnv returns the .env file's variables, or nil when there is no such file.
func readDotEnv(path string) (map[string]string, error) {
	st, err := os.Stat(path)
	if os.IsNotExist(err) || (err == nil && st.IsDir()) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{path})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if env == nil {
		env = map[string]string{}
	}
	return env, nil
}

// Image is the image one service runs.
type Image struct {
	Service string
	Ref     string
}

// Images lists the image of every service that is not built by compose, in service order.
func (p *Project) Images() []Image {
	var out []Image
	for _, name := range p.Order {
		s := p.Services[name]
		if s.Build != nil || s.Image == "" {
			continue
		}
		out = append(out, Image{Service: name, Ref: s.Image})
	}
	return out
}

// SharedNetworks lists the names of the external networks the project uses, sorted: they outlive
// the project, and Runner creates them when missing.
func (p *Project) SharedNetworks() []string {
	var out []string
	for _, n := range p.Networks {
		if bool(n.External) {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Endpoint is one published port of a service, as a URL on the host.
type Endpoint struct {
	Service string
	URL     string
}

// Endpoints lists every published TCP port as http://<host>:<port>, in service order. Ports
// published on all interfaces are shown on the loopback address; ports left to the daemon to
// choose (no published port) are omitted.
func (p *Project) Endpoints() []Endpoint {
	var out []Endpoint
	for _, name := range p.Order {
		for _, port := range p.Services[name].Ports {
			if port.Published == "" || (port.Protocol != "" && port.Protocol != "tcp") {
				continue
			}
			host := port.HostIP
			switch host {
			case "", "0.0.0.0":
				host = "127.0.0.1"
			case "::":
				host = "::1"
			}
			published := port.Published
			if lo, _, isRange := strings.Cut(published, "-"); isRange {
				published = lo
			}
			if _, err := strconv.Atoi(published); err != nil {
				continue
			}
			out = append(out, Endpoint{Service: name, URL: "http://" + net.JoinHostPort(host, published)})
		}
	}
	return out
}

// BindSources lists the host folders the project bind-mounts, in service order, without duplicates.
func (p *Project) BindSources() []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range p.Order {
		for _, v := range p.Services[name].Volumes {
			if v.Type == types.VolumeTypeBind && v.Source != "" && !seen[v.Source] {
				seen[v.Source] = true
				out = append(out, v.Source)
			}
		}
	}
	return out
}
