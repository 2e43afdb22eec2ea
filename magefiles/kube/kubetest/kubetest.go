// Package kubetest starts a real kube-apiserver backed by a real etcd on loopback
// for tests of the deploy lane. There is no kubelet, controller-manager or
// scheduler: objects are stored and served, but no pod ever runs.
//
// The two servers are compiled from the nested module in scripts/kubetest and
// cached (see Start). Nothing in this package ships; only tests import it.
package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ContextName is the name of the context, cluster and user in the kubeconfig
// written by Start; it is the current context.
const ContextName = "kubetest"

// AdminUser is the user the static token authenticates as; it belongs to the
// system:masters group, so RBAC allows it everything.
const AdminUser = "kubetest-admin"

const (
	readyTimeout = 90 * time.Second
	etcdTimeout  = 30 * time.Second
	stopTimeout  = 15 * time.Second
	startTries   = 3
	logTailLines = 50
)

// Cluster is a running etcd + kube-apiserver pair on loopback. It is stopped,
// and its files removed, when the test that started it ends.
type Cluster struct {
	// Kubeconfig is the path of a kubeconfig file whose current context
	// (ContextName) reaches the API server as the admin user.
	Kubeconfig string
	// Server is the API server's URL, https://127.0.0.1:<port>.
	Server string
	// Token is a static bearer token for AdminUser (group system:masters).
	Token string
	// CAData is the PEM certificate of the CA that signed the serving certificate.
	CAData []byte
	// EtcdURL is the client URL of the etcd the API server stores into.
	EtcdURL string
}

// RESTConfig returns a new client configuration for the cluster, authenticated
// as the admin user and verifying the serving certificate.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     c.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.CAData...)},
		QPS:             100,
		Burst:           200,
		Timeout:         30 * time.Second,
	}
}

// Start builds (or reuses from the cache) etcd and kube-apiserver, starts them
// on free loopback ports and returns once the API server's /readyz answers ok.
// Both processes are stopped (SIGTERM, then SIGKILL) and their temporary
// directories removed in t.Cleanup.
//
// Binaries are cached in $SHIPLANE_CACHE/kubetest/<hash>, or
// os.UserCacheDir()/shiplane/kubetest/<hash> when SHIPLANE_CACHE is unset, where
// <hash> covers scripts/kubetest's go.mod, go.sum and cmd sources and the Go
// toolchain. A lock file keeps concurrent test processes from building at once.
//
// When the build or the start fails the test is skipped with the reason, unless
// the environment has CI=true: then it fails.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bins, err := binaries(t)
	if err != nil {
		unavailable(t, "building kube-apiserver and etcd: %v", err)
	}
	var lastErr error
	for try := 1; try <= startTries; try++ {
		c, retry, err := start(t, bins)
		if err == nil {
			return c
		}
		lastErr = err
		if !retry || try == startTries {
			break
		}
		t.Logf("kubetest: start attempt %d failed, retrying with new ports: %v", try, err)
	}
	unavailable(t, "starting etcd and kube-apiserver: %v", lastErr)
	return nil
}

// unavailable fails the test on CI and skips it elsewhere.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf("kubetest: "+format+" (skipping; set CI=true to fail instead)", args...)
}

// errEarlyExit reports a server that exited before becoming ready, most likely
// because another process took one of its ports between probe and bind.
var errEarlyExit = errors.New("exited before becoming ready")

// start runs one attempt. retry is true when the failure may be a port race.
func start(t testing.TB, bins *binSet) (c *Cluster, retry bool, err error) {
	t.Helper()
	dir := t.TempDir()
	ports, err := freePorts(3)
	if err != nil {
		return nil, false, err
	}
	clientPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)

	// Cleanups run last-in first-out: processes registered below stop before
	// t.TempDir removes their directory.
	etcd, err := startProc(t, filepath.Join(dir, "etcd.log"), bins.etcd,
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true", // test data; durability is irrelevant
		"--log-level=warn",
	)
	if err != nil {
		return nil, false, err
	}
	if err := waitEtcd(t.Context(), etcd, etcdURL); err != nil {
		return nil, errors.Is(err, errEarlyExit), fmt.Errorf("%w\n%s", err, etcd.tail("etcd"))
	}

	pki, err := newPKI(dir)
	if err != nil {
		return nil, false, err
	}
	api, err := startProc(t, filepath.Join(dir, "kube-apiserver.log"), bins.apiserver,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--tls-cert-file="+pki.servingCert,
		"--tls-private-key-file="+pki.servingKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+pki.saPublic,
		"--service-account-signing-key-file="+pki.saPrivate,
		"--authorization-mode=RBAC",
		"--token-auth-file="+pki.tokenFile,
		// No controller-manager creates the "default" ServiceAccount, so the
		// ServiceAccount admission plugin would reject every pod.
		"--disable-admission-plugins=ServiceAccount",
		// Faster start; no flow-control configuration is bootstrapped.
		"--enable-priority-and-fairness=false",
		// Nothing would route to 127.0.0.1 endpoints of the kubernetes service.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	)
	if err != nil {
		return nil, false, err
	}

	c = &Cluster{
		Server:  "https://127.0.0.1:" + strconv.Itoa(apiPort),
		Token:   pki.token,
		CAData:  pki.caPEM,
		EtcdURL: etcdURL,
	}
	if err := waitReady(t.Context(), api, c); err != nil {
		return nil, errors.Is(err, errEarlyExit),
			fmt.Errorf("%w\n%s\n%s", err, api.tail("kube-apiserver"), etcd.tail("etcd"))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kubetest: server logs\n%s\n%s", api.tail("kube-apiserver"), etcd.tail("etcd"))
		}
	})

	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(c); err != nil {
		return nil, false, err
	}
	return c, false, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		// Keep each listener open until all are chosen so the ports differ.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitEtcd(ctx context.Context, p *proc, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, p, etcdTimeout, "etcd /health", func(ctx context.Context) error {
		return getOK(ctx, client, url+"/health", "")
	})
}

func waitReady(ctx context.Context, p *proc, c *Cluster) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CAData) {
		return errors.New("parsing the generated CA certificate")
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	defer client.CloseIdleConnections()
	return poll(ctx, p, readyTimeout, "kube-apiserver /readyz", func(ctx context.Context) error {
		return getOK(ctx, client, c.Server+"/readyz", c.Token)
	})
}

// poll calls check until it succeeds, the process exits, ctx ends or timeout passes.
func poll(ctx context.Context, p *proc, timeout time.Duration, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("waiting for %s: %s %w (%v)", what, p.name, errEarlyExit, p.err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: not ready after %s: %w (last: %v)", what, timeout, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func getOK(ctx context.Context, client *http.Client, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func writeKubeconfig(c *Cluster) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{
		Server:                   c.Server,
		CertificateAuthorityData: c.CAData,
	}
	cfg.AuthInfos[ContextName] = &clientcmdapi.AuthInfo{Token: c.Token}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{
		Cluster:   ContextName,
		AuthInfo:  ContextName,
		Namespace: "default",
	}
	cfg.CurrentContext = ContextName
	if err := clientcmd.WriteToFile(*cfg, c.Kubeconfig); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", c.Kubeconfig, err)
	}
	return nil
}
