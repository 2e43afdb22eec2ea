package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/shiplane/shiplane/magefiles/diag"
)

// DefaultReachTimeout is how long Connect waits for the API server to answer.
const DefaultReachTimeout = 5 * time.Second

// Cluster is a Kubernetes cluster that answered, with the clients the goals use.
type Cluster struct {
	// Kubeconfig is where the configuration was read from (a KUBECONFIG-style list).
	Kubeconfig string
	// Context is the kubeconfig context used.
	Context string
	// ClusterName is the name of the context's cluster entry in the kubeconfig ("kind-dev").
	ClusterName string
	// Server is the API server's URL.
	Server string
	// Version is the API server's version ("v1.36.3").
	Version string
	// Namespace is the namespace Helm works in.
	Namespace string
	// Helm runs Helm's actions in Namespace.
	Helm *Helm
	// Namespaces looks up and creates namespaces.
	Namespaces *KubeNamespaces
	// REST is the client configuration.
	REST *rest.Config
}

// ConnectOption configures Connect.
type ConnectOption func(*connectConfig)

type connectConfig struct {
	kubeconfig   string
	context      string
	reachTimeout time.Duration
	log          func(string, ...any)
}

// WithKubeconfig reads the kubeconfig from these files, a list separated like $KUBECONFIG (":" on
// Unix), merged the way kubectl merges them. Default (and for ""): ~/.kube/config.
func WithKubeconfig(list string) ConnectOption { return func(c *connectConfig) { c.kubeconfig = list } }

// WithContext uses this kubeconfig context. Default (and for ""): the kubeconfig's current-context.
func WithContext(name string) ConnectOption { return func(c *connectConfig) { c.context = name } }

// WithReachTimeout bounds the first request, which tells whether the cluster answers at all.
// Default: DefaultReachTimeout.
func WithReachTimeout(d time.Duration) ConnectOption {
	return func(c *connectConfig) {
		if d > 0 {
			c.reachTimeout = d
		}
	}
}

// WithConnectLog receives Helm's debug log. Default: discarded.
func WithConnectLog(log func(format string, v ...any)) ConnectOption {
	return func(c *connectConfig) { c.log = log }
}

// Connect reads the kubeconfig, checks within the reach timeout that the API server answers, and
// returns the clients for namespace. A cluster that is not configured or does not answer is an
// *UnreachableError naming the context and server tried and how to point shiplane at a cluster.
func Connect(ctx context.Context, namespace string, opts ...ConnectOption) (*Cluster, error) {
	cfg := connectConfig{reachTimeout: DefaultReachTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	rules := &clientcmd.ClientConfigLoadingRules{}
	if cfg.kubeconfig != "" {
		for _, p := range filepath.SplitList(cfg.kubeconfig) {
			if p != "" {
				rules.Precedence = append(rules.Precedence, p)
			}
		}
	}
	if len(rules.Precedence) == 0 {
		rules.Precedence = []string{clientcmd.RecommendedHomeFile}
	}
	where := strings.Join(rules.Precedence, string(filepath.ListSeparator))
	overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.context, Context: clientcmdapi.Context{Namespace: namespace}}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)

	unreachable := &UnreachableError{Kubeconfig: where, Context: cfg.context, KubeconfigSet: cfg.kubeconfig != ""}
	raw, err := loader.RawConfig()
	if err != nil {
		unreachable.Err = fmt.Errorf("reading the kubeconfig: %w", err)
		return nil, unreachable
	}
	if cfg.context != "" && raw.Contexts[cfg.context] == nil {
		return nil, &UnknownContextError{Context: cfg.context, Kubeconfig: where, KubeconfigSet: cfg.kubeconfig != "",
			Contexts: sortedKeys(raw.Contexts), Current: raw.CurrentContext}
	}
	if unreachable.Context == "" {
		unreachable.Context = raw.CurrentContext
	}
	var clusterName string
	if kc := raw.Contexts[unreachable.Context]; kc != nil {
		clusterName = kc.Cluster
		if cl := raw.Clusters[kc.Cluster]; cl != nil {
			unreachable.Server = cl.Server
		}
	}
	rc, err := loader.ClientConfig()
	if err != nil {
		unreachable.Err = err
		return nil, unreachable
	}
	unreachable.Server = rc.Host
	rc.QPS, rc.Burst = 50, 100

	version, err := probe(ctx, rc, cfg.reachTimeout)
	if err != nil {
		unreachable.Err = err
		unreachable.Timeout = cfg.reachTimeout
		return nil, unreachable
	}

	getter := newRESTGetter(loader, rc)
	log := cfg.log
	if log == nil {
		log = func(string, ...any) {}
	}
	kc := kube.New(getter)
	kc.Namespace = namespace
	kc.Log = log
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("configuring the client for %s: %w", rc.Host, err)
	}
	h, err := NewHelm(namespace, getter, WithKubeClient(kc), WithLog(log))
	if err != nil {
		return nil, err
	}
	return &Cluster{
		Kubeconfig:  where,
		Context:     unreachable.Context,
		ClusterName: clusterName,
		Server:      rc.Host,
		Version:     version,
		Namespace:   namespace,
		Helm:        h,
		Namespaces:  NewKubeNamespaces(cs),
		REST:        rc,
	}, nil
}

// probe asks the API server for its version within timeout.
func probe(ctx context.Context, rc *rest.Config, timeout time.Duration) (string, error) {
	quick := rest.CopyConfig(rc)
	quick.Timeout = timeout
	dc, err := discovery.NewDiscoveryClientForConfig(quick)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return "", err
	}
	var v version.Info
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("reading the server's version: %w", err)
	}
	return v.GitVersion, nil
}

// UnreachableError is a cluster that is not configured or did not answer.
type UnreachableError struct {
	// Kubeconfig is where the configuration was looked for.
	Kubeconfig string
	// KubeconfigSet is true when KUBECONFIG (WithKubeconfig) chose the files.
	KubeconfigSet bool
	// Context and Server are the kubeconfig context and API server tried, when known.
	Context, Server string
	// Timeout is how long the server was given to answer, when it was tried.
	Timeout time.Duration
	Err     error
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	b.WriteString("no Kubernetes cluster reachable: ")
	switch {
	case e.Server != "":
		fmt.Fprintf(&b, "context %q, server %s", e.Context, e.Server)
	case e.Context != "":
		fmt.Fprintf(&b, "context %q", e.Context)
	default:
		b.WriteString("no context configured")
	}
	fmt.Fprintf(&b, " (%s)", kubeconfigSource(e.Kubeconfig, e.KubeconfigSet))
	if e.Timeout > 0 {
		fmt.Fprintf(&b, ", did not answer within %s", e.Timeout)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	b.WriteString("; fix: point KUBECONFIG at the kubeconfig of a running cluster, or pick one of its contexts with " +
		"`kubectl config use-context <name>`, or start a local cluster (kind create cluster, minikube start, k3d cluster create)")
	return b.String()
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// UnknownContextError is a context asked for (WithContext) that the kubeconfig does not have.
type UnknownContextError struct {
	Context string
	// Kubeconfig is the files read (a KUBECONFIG-style list); KubeconfigSet is true when KUBECONFIG
	// (WithKubeconfig) chose them.
	Kubeconfig    string
	KubeconfigSet bool
	// Contexts are the kubeconfig's contexts, sorted; Current is its current-context.
	Contexts []string
	Current  string
}

func (e *UnknownContextError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kube context %q is not in the kubeconfig (%s): ", e.Context, kubeconfigSource(e.Kubeconfig, e.KubeconfigSet))
	if len(e.Contexts) == 0 {
		b.WriteString("it has no contexts (is the file there?)")
	} else {
		fmt.Fprintf(&b, "its contexts are %s", strings.Join(e.Contexts, ", "))
		if e.Current != "" {
			fmt.Fprintf(&b, " (current-context %s)", e.Current)
		}
	}
	b.WriteString("; fix: ")
	if best := diag.Closest(e.Context, e.Contexts); best != "" {
		fmt.Fprintf(&b, "did you mean %q? ", best)
	}
	b.WriteString("name one of its contexts, or point KUBECONFIG at the kubeconfig that has it")
	return b.String()
}

func kubeconfigSource(where string, set bool) string {
	if set {
		return "KUBECONFIG=" + where
	}
	return "default kubeconfig " + where + ", KUBECONFIG not set"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// KubeNamespaces looks up and creates namespaces with a clientset.
type KubeNamespaces struct{ cs kubernetes.Interface }

var _ Namespaces = (*KubeNamespaces)(nil)

// NewKubeNamespaces returns namespaces reached through cs.
func NewKubeNamespaces(cs kubernetes.Interface) *KubeNamespaces { return &KubeNamespaces{cs: cs} }

// NamespacePhase returns the namespace's phase, or "" when it does not exist.
func (k *KubeNamespaces) NamespacePhase(ctx context.Context, name string) (string, error) {
	ns, err := k.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if ns.Status.Phase == "" {
		return string(corev1.NamespaceActive), nil
	}
	return string(ns.Status.Phase), nil
}

// CreateNamespace creates the namespace; one that exists already is not an error.
func (k *KubeNamespaces) CreateNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	_, err := k.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// restGetter is a genericclioptions.RESTClientGetter over one loaded kubeconfig, caching discovery
// (it is shared by concurrent goals).
type restGetter struct {
	loader clientcmd.ClientConfig
	rc     *rest.Config

	once   sync.Once
	dc     discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	err    error
}

var _ genericclioptions.RESTClientGetter = (*restGetter)(nil)

func newRESTGetter(loader clientcmd.ClientConfig, rc *rest.Config) *restGetter {
	return &restGetter{loader: loader, rc: rc}
}

func (g *restGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.rc), nil }

func (g *restGetter) init() {
	g.once.Do(func() {
		d, err := discovery.NewDiscoveryClientForConfig(rest.CopyConfig(g.rc))
		if err != nil {
			g.err = err
			return
		}
		g.dc = memory.NewMemCacheClient(d)
		g.mapper = restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(g.dc), g.dc, func(string) {})
	})
}

func (g *restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.init()
	return g.dc, g.err
}

func (g *restGetter) ToRESTMapper() (meta.RESTMapper, error) {
	g.init()
	return g.mapper, g.err
}

func (g *restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig { return g.loader }
