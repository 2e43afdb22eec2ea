package deploy_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/kube/kubetest"
)

// writeKubeconfig writes a kubeconfig whose current context is name, reaching server.
func writeKubeconfig(t *testing.T, name, server string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, InsecureSkipTLSVerify: true}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "unused"}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestDeployConnectClosedPortFailsFastNamingContextAndServer(t *testing.T) {
	server := "https://127.0.0.1:" + strconv.Itoa(closedPort(t))
	kc := writeKubeconfig(t, "nowhere", server)
	start := time.Now()
	_, err := deploy.Connect(t.Context(), "shiplane", deploy.WithKubeconfig(kc))
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Connect took %s to fail", took)
	}
	var ue *deploy.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *deploy.UnreachableError", err)
	}
	if ue.Context != "nowhere" || ue.Server != server {
		t.Errorf("context %q server %q, want nowhere %s", ue.Context, ue.Server, server)
	}
	for _, want := range []string{`context "nowhere"`, server, "KUBECONFIG=" + kc, "kubectl config use-context", "start a local cluster"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
}

func TestDeployConnectSilentServerTimesOut(t *testing.T) {
	// A listener that accepts connections and never answers: only the reach timeout ends the wait.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	server := "https://" + l.Addr().String()
	kc := writeKubeconfig(t, "silent", server)
	start := time.Now()
	_, err = deploy.Connect(t.Context(), "shiplane", deploy.WithKubeconfig(kc), deploy.WithReachTimeout(500*time.Millisecond))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Connect took %s with a 500ms reach timeout", took)
	}
	var ue *deploy.UnreachableError
	if !errors.As(err, &ue) || ue.Timeout != 500*time.Millisecond {
		t.Fatalf("err = %v, want *deploy.UnreachableError after 500ms", err)
	}
	if !strings.Contains(err.Error(), "did not answer within 500ms") {
		t.Errorf("message lacks the timeout:\n%v", err)
	}
}

func TestDeployConnectWithoutKubeconfigSaysHowToConfigureOne(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	_, err := deploy.Connect(t.Context(), "shiplane", deploy.WithKubeconfig(missing))
	var ue *deploy.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *deploy.UnreachableError", err)
	}
	for _, want := range []string{"no context configured", missing, "KUBECONFIG", "kubectl config use-context"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
	if _, statErr := os.Stat(missing); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("Connect created %s", missing)
	}
}

func TestDeployConnectRealAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	cl, err := deploy.Connect(t.Context(), "shiplane", deploy.WithKubeconfig(c.Kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	if cl.Context != kubetest.ContextName || cl.Server != c.Server || cl.Version == "" {
		t.Errorf("connected to context %q server %s version %q; want %s %s and a version", cl.Context, cl.Server, cl.Version, kubetest.ContextName, c.Server)
	}
	phase, err := cl.Namespaces.NamespacePhase(t.Context(), "shiplane")
	if err != nil || phase != "" {
		t.Fatalf("NamespacePhase(shiplane) = %q, %v before creation", phase, err)
	}
	if err := cl.Namespaces.CreateNamespace(t.Context(), "shiplane", map[string]string{deploy.ManagedByLabel: "shiplane"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Namespaces.CreateNamespace(t.Context(), "shiplane", nil); err != nil {
		t.Fatalf("creating an existing namespace: %v", err)
	}
	if phase, err := cl.Namespaces.NamespacePhase(t.Context(), "shiplane"); err != nil || phase != "Active" {
		t.Fatalf("NamespacePhase(shiplane) = %q, %v after creation", phase, err)
	}
	hist, err := cl.Helm.History(t.Context(), "core")
	if err != nil || len(hist) != 0 {
		t.Fatalf("History(core) = %v, %v; want none", hist, err)
	}
}

func TestDeployConnectUnknownContextListsTheMergedKubeconfigsContexts(t *testing.T) {
	a := writeKubeconfig(t, "staging", "https://127.0.0.1:"+strconv.Itoa(closedPort(t)))
	b := writeKubeconfig(t, "kind-dev", "https://127.0.0.1:"+strconv.Itoa(closedPort(t)))
	list := a + string(filepath.ListSeparator) + b
	_, err := deploy.Connect(t.Context(), "shiplane", deploy.WithKubeconfig(list), deploy.WithContext("kind-deb"))
	var uc *deploy.UnknownContextError
	if !errors.As(err, &uc) {
		t.Fatalf("err = %v, want *deploy.UnknownContextError", err)
	}
	if uc.Context != "kind-deb" || uc.Current != "staging" || strings.Join(uc.Contexts, ",") != "kind-dev,staging" {
		t.Errorf("error = %+v, want context kind-deb, current staging, contexts kind-dev and staging", uc)
	}
	for _, want := range []string{`kube context "kind-deb" is not in the kubeconfig (KUBECONFIG=` + list + ")",
		"its contexts are kind-dev, staging (current-context staging)", `did you mean "kind-dev"?`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q:\n%v", want, err)
		}
	}
	// Refused from the file alone: neither server (both closed ports) was dialled, which would
	// have been an *UnreachableError.
	var ue *deploy.UnreachableError
	if errors.As(err, &ue) {
		t.Errorf("err = %v, an unreachable cluster, want the context refused first", err)
	}
}
