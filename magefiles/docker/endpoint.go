package docker

import (
	"fmt"
	"os"
	"path/filepath"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/config"
	dcontext "github.com/docker/cli/cli/context"
	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/cli/opts"
	"github.com/moby/moby/client"
)

// DefaultContext is the name of the docker CLI's built-in context: DOCKER_HOST, else the default
// socket.
const DefaultContext = "default"

// EndpointEnv is what ResolveEndpoint reads: the docker CLI's environment variables. Build it with
// EndpointEnvFrom; an empty value means unset, as for the docker CLI.
type EndpointEnv struct {
	// Host is DOCKER_HOST.
	Host string
	// Context is DOCKER_CONTEXT.
	Context string
	// ConfigDir is DOCKER_CONFIG, else ~/.docker: where config.json and the context store
	// (contexts/) are.
	ConfigDir string
	// CertPath is DOCKER_CERT_PATH: ca.pem, cert.pem and key.pem for the default context.
	CertPath string
	// TLSVerify is DOCKER_TLS_VERIFY set (non-empty): the default context verifies the daemon's
	// certificate.
	TLSVerify bool
	// TLS is DOCKER_TLS set (non-empty): the default context speaks TLS.
	TLS bool
}

// EndpointEnvFrom reads the docker CLI's variables with getenv (os.Getenv when nil). The home
// folder comes from HOME, else the operating system's idea of it.
func EndpointEnvFrom(getenv func(string) string) EndpointEnv {
	if getenv == nil {
		getenv = os.Getenv
	}
	e := EndpointEnv{
		Host:      getenv(client.EnvOverrideHost),
		Context:   getenv("DOCKER_CONTEXT"),
		ConfigDir: getenv(config.EnvOverrideConfigDir),
		CertPath:  getenv(client.EnvOverrideCertPath),
		TLSVerify: getenv(client.EnvTLSVerify) != "",
		TLS:       getenv("DOCKER_TLS") != "",
	}
	if e.ConfigDir == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		e.ConfigDir = filepath.Join(home, ".docker")
	}
	return e
}

// Endpoint is one Docker daemon, chosen as the docker CLI chooses it. Resolve it once per run with
// ResolveEndpoint and hand the same value to New and to the compose runner, so that builds,
// pushes and Compose all talk to the same daemon.
type Endpoint struct {
	// Context is the Docker context's name; DefaultContext for DOCKER_HOST or the default socket.
	Context string
	// Host is the daemon's address as the context (or DOCKER_HOST) gives it:
	// "unix:///var/run/docker.sock", "tcp://10.0.0.5:2376", "ssh://user@host".
	Host string
	// From says what chose the context: "DOCKER_HOST", "DOCKER_CONTEXT", "currentContext in
	// <config.json>" or "no context set".
	From string
	// ConfigDir is the Docker config folder the context store and config.json were read from.
	ConfigDir string
	// SkipTLSVerify accepts any server certificate.
	SkipTLSVerify bool
	// TLS is the client's TLS material (CA, certificate, key): the context's files in the store's
	// tls/ folder, or DOCKER_CERT_PATH's for the default context; nil for none.
	TLS *dcontext.TLSData
}

// String names the endpoint for messages: `context colima (unix:///…/docker.sock)`.
func (e Endpoint) String() string {
	return fmt.Sprintf("context %s (%s)", e.Context, e.Host)
}

// IsZero reports whether e was never resolved.
func (e Endpoint) IsZero() bool { return e.Host == "" }

// ResolveEndpoint chooses the daemon as the docker CLI does: DOCKER_HOST (the default context),
// else the context DOCKER_CONTEXT names, else config.json's currentContext, else the default
// context, whose host is the default socket. A named context comes from the context store in
// env.ConfigDir, with its TLS material. A context that does not exist gives an
// *UnknownContextError.
func ResolveEndpoint(env EndpointEnv) (Endpoint, error) {
	name, from := DefaultContext, "no context set"
	cfgFile := filepath.Join(env.ConfigDir, config.ConfigFileName)
	switch {
	case env.Host != "":
		from = client.EnvOverrideHost
	case env.Context != "":
		name, from = env.Context, "DOCKER_CONTEXT"
	default:
		cf, err := config.Load(env.ConfigDir)
		if err != nil {
			return Endpoint{}, fmt.Errorf("reading the Docker config %s for its currentContext: %w; fix the file (or set DOCKER_CONFIG to another folder)", cfgFile, err)
		}
		if cf.CurrentContext != "" {
			name, from = cf.CurrentContext, "currentContext in "+cfgFile
		}
	}
	if name == DefaultContext {
		return defaultEndpoint(env, from)
	}
	s := ContextStore(env.ConfigDir)
	meta, err := s.GetMetadata(name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Endpoint{}, &UnknownContextError{Context: name, From: from, Store: filepath.Join(env.ConfigDir, "contexts")}
		}
		return Endpoint{}, fmt.Errorf("reading Docker context %q (from %s) in %s: %w", name, from, env.ConfigDir, err)
	}
	epMeta, err := ctxdocker.EndpointFromContext(meta)
	if err != nil {
		return Endpoint{}, fmt.Errorf("Docker context %q (from %s): %w; fix: `docker context inspect %s` and recreate it with --docker host=…", name, from, err, name)
	}
	ep, err := ctxdocker.WithTLSData(s, name, epMeta)
	if err != nil {
		return Endpoint{}, fmt.Errorf("Docker context %q (from %s): %w", name, from, err)
	}
	e := Endpoint{Context: name, Host: ep.Host, From: from, ConfigDir: env.ConfigDir, SkipTLSVerify: ep.SkipTLSVerify, TLS: ep.TLSData}
	if e.Host == "" {
		e.Host = client.DefaultDockerHost
	}
	return e, nil
}

// ContextStore opens the docker CLI's context store of the Docker config folder configDir (its
// contexts/ folder), typing every context's docker endpoint as the CLI does.
func ContextStore(configDir string) *store.ContextStore {
	return store.New(filepath.Join(configDir, "contexts"), store.NewConfig(func() any { return &map[string]any{} },
		store.EndpointTypeGetter(ctxdocker.DockerEndpoint, func() any { return &ctxdocker.EndpointMeta{} })))
}

// defaultEndpoint is the default context: DOCKER_HOST or the default socket (tcp://localhost:2376
// with TLS), with TLS from DOCKER_CERT_PATH (else the config folder) when DOCKER_TLS_VERIFY or
// DOCKER_TLS is set, as for the docker CLI.
func defaultEndpoint(env EndpointEnv, from string) (Endpoint, error) {
	useTLS := env.TLSVerify || env.TLS
	host, err := opts.ParseHost(useTLS, env.Host)
	if err != nil {
		return Endpoint{}, fmt.Errorf("DOCKER_HOST=%q: %w; fix: set it to unix:///path/to/docker.sock, tcp://host:port or ssh://user@host, or unset it", env.Host, err)
	}
	e := Endpoint{Context: DefaultContext, Host: host, From: from, ConfigDir: env.ConfigDir}
	if useTLS {
		dir := env.CertPath
		if dir == "" {
			dir = env.ConfigDir
		}
		var paths [3]string
		for i, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			if p := filepath.Join(dir, f); fileExists(p) {
				paths[i] = p
			}
		}
		if e.TLS, err = dcontext.TLSDataFromFiles(paths[0], paths[1], paths[2]); err != nil {
			return Endpoint{}, fmt.Errorf("reading the Docker TLS files in %s: %w", dir, err)
		}
		e.SkipTLSVerify = !env.TLSVerify
	}
	return e, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// clientOpts configures a moby client for e exactly as the docker CLI does: an ssh:// host dials
// through docker/cli's connection helper (ssh … docker system dial-stdio), a tcp:// host uses the
// endpoint's TLS material, a socket uses neither.
func (e Endpoint) clientOpts() ([]client.Opt, error) {
	ep := ctxdocker.Endpoint{EndpointMeta: ctxdocker.EndpointMeta{Host: e.Host, SkipTLSVerify: e.SkipTLSVerify}, TLSData: e.TLS}
	o, err := ep.ClientOpts()
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client for %s: %w", e, err)
	}
	return o, nil
}

// NewAPIClient returns an Engine API client for e, negotiating the API version on first use, for
// backends that need the raw client (the compose runner). It does not contact the daemon.
func (e Endpoint) NewAPIClient(extra ...client.Opt) (*client.Client, error) {
	o, err := e.clientOpts()
	if err != nil {
		return nil, err
	}
	api, err := client.New(append(append(o, client.WithAPIVersionNegotiation()), extra...)...)
	if err != nil {
		return nil, fmt.Errorf("configuring the Docker client for %s: %w", e, err)
	}
	return api, nil
}

// UnknownContextError is a context name that the context store does not hold.
type UnknownContextError struct {
	// Context is the name asked for.
	Context string
	// From is what named it (DOCKER_CONTEXT, currentContext in …/config.json).
	From string
	// Store is the context store's folder.
	Store string
}

func (e *UnknownContextError) Error() string {
	fix := "`docker context ls` lists the contexts; `docker context use default` (or `colima start`, which creates context colima)"
	if e.From == "DOCKER_CONTEXT" {
		fix = "`docker context ls` lists the contexts; set DOCKER_CONTEXT to one of them, or unset it"
	}
	return fmt.Sprintf("Docker context %q (from %s) does not exist in %s; fix: %s", e.Context, e.From, e.Store, fix)
}
