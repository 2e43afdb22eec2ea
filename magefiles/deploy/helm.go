package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// DefaultTimeout bounds one install, upgrade or uninstall, readiness waits included.
const DefaultTimeout = 5 * time.Minute

// DefaultMaxHistory is how many revisions of a release Helm keeps (the helm CLI's default).
const DefaultMaxHistory = 10

// ApplyOptions say how Apply and Uninstall act.
type ApplyOptions struct {
	// Wait waits until the release's objects are ready (or gone, for Uninstall).
	Wait bool
	// Timeout bounds the operation; zero means DefaultTimeout.
	Timeout time.Duration
	// Labels are stored with the new revision (Apply only).
	Labels map[string]string
}

// Helm runs Helm's actions for the releases of one namespace. It is safe for concurrent use by
// goals of different releases: every call gets its own action configuration.
type Helm struct {
	namespace  string
	getter     genericclioptions.RESTClientGetter
	kube       kube.Interface
	driver     driver.Driver
	log        func(string, ...any)
	maxHistory int

	mu   sync.Mutex
	caps *chartutil.Capabilities
	warm sync.Once
}

var _ Releases = (*Helm)(nil)

// HelmOption configures a Helm.
type HelmOption func(*Helm)

// WithKubeClient sets the client Helm creates, updates, deletes and waits for objects with.
// Default: Helm's kube.Client for the getter's cluster, in the namespace.
func WithKubeClient(c kube.Interface) HelmOption { return func(h *Helm) { h.kube = c } }

// WithStorage sets where release records are kept. Default: Helm's secrets driver in the namespace,
// as the helm CLI keeps them.
func WithStorage(d driver.Driver) HelmOption { return func(h *Helm) { h.driver = d } }

// WithCapabilities sets what templates see as .Capabilities. Default: discovered from the cluster
// (server version and API versions) on first use.
func WithCapabilities(c *chartutil.Capabilities) HelmOption { return func(h *Helm) { h.caps = c } }

// WithLog receives Helm's debug log. Default: discarded.
func WithLog(log func(format string, v ...any)) HelmOption {
	return func(h *Helm) {
		if log != nil {
			h.log = log
		}
	}
}

// WithMaxHistory bounds the revisions kept per release; 0 keeps all. Default: DefaultMaxHistory.
func WithMaxHistory(n int) HelmOption { return func(h *Helm) { h.maxHistory = n } }

// NewHelm returns a Helm for the releases in namespace of the cluster getter reaches. getter may be
// nil when WithKubeClient, WithStorage and WithCapabilities supply everything it would give.
func NewHelm(namespace string, getter genericclioptions.RESTClientGetter, opts ...HelmOption) (*Helm, error) {
	h := &Helm{namespace: namespace, getter: getter, log: func(string, ...any) {}, maxHistory: DefaultMaxHistory}
	for _, o := range opts {
		o(h)
	}
	if namespace == "" {
		return nil, errors.New("helm: no namespace")
	}
	if getter == nil && (h.kube == nil || h.driver == nil || h.caps == nil) {
		return nil, errors.New("helm: no cluster: give a RESTClientGetter, or a kube client, a storage driver and capabilities")
	}
	if h.kube == nil {
		kc := kube.New(getter)
		kc.Namespace = namespace
		kc.Log = h.log
		h.kube = kc
	}
	if h.driver == nil {
		rc, err := getter.ToRESTConfig()
		if err != nil {
			return nil, fmt.Errorf("helm: configuring the release storage: %w", err)
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("helm: configuring the release storage: %w", err)
		}
		d := driver.NewSecrets(cs.CoreV1().Secrets(namespace))
		d.Log = h.log
		h.driver = d
	}
	return h, nil
}

// Namespace is the namespace Helm works in.
func (h *Helm) Namespace() string { return h.namespace }

// config returns a fresh action configuration: Helm's actions write to it (capabilities, the
// storage's history limit), so concurrent actions must not share one.
func (h *Helm) config() (*action.Configuration, error) {
	// Helm's kube client builds its clientset lazily, unguarded, in IsReachable (every action's
	// first call): let one goroutine do that before the others may start. The action repeats the
	// check and reports its error.
	h.warm.Do(func() { _ = h.kube.IsReachable() })
	caps, err := h.capabilities()
	if err != nil {
		return nil, err
	}
	store := storage.Init(h.driver)
	store.Log = h.log
	return &action.Configuration{
		RESTClientGetter: h.getter,
		Releases:         store,
		KubeClient:       h.kube,
		Capabilities:     caps,
		Log:              h.log,
		HookOutputFunc:   discardHookOutput,
	}, nil
}

func (h *Helm) capabilities() (*chartutil.Capabilities, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.caps != nil {
		return h.caps, nil
	}
	dc, err := h.getter.ToDiscoveryClient()
	if err != nil {
		return nil, fmt.Errorf("discovering the cluster's capabilities: %w", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("discovering the cluster's version: %w", err)
	}
	apis, err := action.GetVersionSet(dc)
	if err != nil {
		return nil, fmt.Errorf("discovering the cluster's API versions: %w", err)
	}
	h.caps = &chartutil.Capabilities{
		KubeVersion: chartutil.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor},
		APIVersions: apis,
		HelmVersion: chartutil.DefaultCapabilities.HelmVersion,
	}
	return h.caps, nil
}

// History returns every stored revision of the release, oldest first; none when it does not exist.
func (h *Helm) History(_ context.Context, name string) ([]*release.Release, error) {
	rels, err := storage.Init(h.driver).History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history of release %s in namespace %s: %w", name, h.namespace, err)
	}
	releaseutil.SortByRevision(rels)
	return rels, nil
}

// Apply installs r when it has no history (or was uninstalled with its history kept) and upgrades
// it otherwise, as `helm upgrade --install` does, replacing the values of the previous revision
// with r.Values. It refuses a release whose last revision is pending (ErrPending).
func (h *Helm) Apply(ctx context.Context, r *Release, opts ApplyOptions) (*release.Release, error) {
	if r.Namespace != h.namespace {
		return nil, fmt.Errorf("release %s is for namespace %s, not %s", r.Name, r.Namespace, h.namespace)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hist, err := h.History(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	cfg, err := h.config()
	if err != nil {
		return nil, err
	}
	vals, err := copyValues(r.Values)
	if err != nil {
		return nil, err
	}
	var last *release.Release
	if len(hist) > 0 {
		last = hist[len(hist)-1]
	}
	switch {
	case last != nil && last.Info.Status.IsPending():
		return nil, fmt.Errorf("revision %d is %s: %w; fix: wait for it to finish, or uninstall the release (deployDownLocal)",
			last.Version, last.Info.Status, ErrPending)
	case last == nil || last.Info.Status == release.StatusUninstalled:
		in := action.NewInstall(cfg)
		in.ReleaseName = r.Name
		in.Namespace = r.Namespace
		in.Replace = last != nil
		in.Wait = opts.Wait
		in.Timeout = timeout
		in.Labels = opts.Labels
		rel, err := in.RunWithContext(ctx, r.Chart, vals)
		return rel, flatten(err)
	default:
		up := action.NewUpgrade(cfg)
		up.Namespace = r.Namespace
		up.Install = true
		up.ResetValues = true
		up.Wait = opts.Wait
		up.Timeout = timeout
		up.Labels = opts.Labels
		up.MaxHistory = h.maxHistory
		rel, err := up.RunWithContext(ctx, r.Name, r.Chart, vals)
		return rel, flatten(err)
	}
}

// Uninstall deletes the release's objects and its history. A release that does not exist is not
// an error.
func (h *Helm) Uninstall(ctx context.Context, name string, opts ApplyOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg, err := h.config()
	if err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.IgnoreNotFound = true
	un.Wait = opts.Wait
	un.Timeout = opts.Timeout
	if un.Timeout <= 0 {
		un.Timeout = DefaultTimeout
	}
	_, err = un.Run(name)
	return flatten(err)
}

// flatten turns the multi-error Helm's kube client returns ("1 error occurred:\n\t* ...") into one
// line, keeping every error reachable by errors.Is and errors.As.
func flatten(err error) error {
	multi, ok := err.(interface{ WrappedErrors() []error })
	if !ok {
		return err
	}
	errs := multi.WrappedErrors()
	if len(errs) == 0 {
		return err
	}
	return &joined{errs: errs}
}

type joined struct{ errs []error }

func (j *joined) Error() string {
	msgs := make([]string, len(j.errs))
	for i, e := range j.errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j *joined) Unwrap() []error { return j.errs }

func discardHookOutput(_, _, _ string) io.Writer { return io.Discard }
