package lane_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/kube/kubetest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// twoContextKubeconfig writes a kubeconfig with the real API server's context renamed live (its
// cluster entry too) and a context "dead" pointing at a loopback port nothing listens on, which
// is the current-context.
func twoContextKubeconfig(t *testing.T, cluster *kubetest.Cluster, live string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	orig := cfg.Contexts[cfg.CurrentContext]
	cfg.Clusters[live] = cfg.Clusters[orig.Cluster]
	cfg.AuthInfos[live] = cfg.AuthInfos[orig.AuthInfo]
	cfg.Contexts[live] = &clientcmdapi.Context{Cluster: live, AuthInfo: live}
	_, deadServer := closedKubeconfig(t)
	cfg.Clusters["dead"] = &clientcmdapi.Cluster{Server: deadServer, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["dead"] = &clientcmdapi.AuthInfo{Token: "unused"}
	cfg.Contexts["dead"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "dead"}
	cfg.CurrentContext = "dead"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeployLocalKubeContextPicksTheContextNotTheCurrentOne(t *testing.T) {
	cluster := kubetest.Start(t)
	root := testenv.CopyRepo(t, deployProject)
	kubeconfig := twoContextKubeconfig(t, cluster, "kind-dev")
	e := env{"KUBECONFIG": kubeconfig, "DEPLOY_NAMESPACE": "picked", "SHIPLANE_REPORT": ""}
	out := &progress.Buffer{}
	cfg := lane.Config{Root: root, Getenv: e.get, Progress: out, Stdout: out}
	ctx := t.Context()

	// The current-context is the dead one: without a choice the deploy cannot reach it.
	err := lane.DeployAllLocal(ctx, cfg)
	var ue *deploy.UnreachableError
	if !errors.As(err, &ue) || ue.Context != "dead" {
		t.Fatalf("without KUBE_CONTEXT: %v, want *deploy.UnreachableError for the current-context dead", err)
	}

	// KUBE_CONTEXT picks the live one (named like a kind cluster): the releases are deployed there,
	// the output names it and what chose it, and says how a kind cluster gets the images.
	e["KUBE_CONTEXT"] = "kind-dev"
	out.Reset()
	if err := lane.DeployAllLocal(ctx, cfg); err != nil {
		t.Fatalf("KUBE_CONTEXT=kind-dev: %v\n%s", err, out)
	}
	t.Logf("deployAllLocal with KUBE_CONTEXT=kind-dev:\n%s", out)
	ws, err := lane.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	v := func(name string) string { return ws.Manifest.Component(name).Version }
	for _, want := range []string{
		`context "kind-dev", server ` + cluster.Server,
		"context chosen by KUBE_CONTEXT",
		`context "kind-dev" is a kind cluster (dev)`,
		"kind load docker-image " + deployProject + "/core:" + v("core") + " ",
		" --name dev",
		"DEV_REGISTRY=localhost:5000/" + deployProject + " go run mage.go pushAllDev",
		"core: release deployed core (picked): ok (newly achieved)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
	if h := helmHistory(t, cluster.Kubeconfig, "picked", "core"); len(h) != 1 {
		t.Errorf("core has %d revisions in the live cluster, want 1", len(h))
	}

	// -context (Config.KubeContext) wins over KUBE_CONTEXT: deployDownLocal uninstalls from the
	// live cluster although KUBE_CONTEXT names the dead one.
	e["KUBE_CONTEXT"] = "dead"
	cfg.KubeContext = "kind-dev"
	out.Reset()
	if err := lane.DeployDownLocal(ctx, cfg); err != nil {
		t.Fatalf("deployDownLocal -context=kind-dev: %v\n%s", err, out)
	}
	for _, want := range []string{`context "kind-dev", server ` + cluster.Server, "context chosen by -context",
		"core: release uninstalled core (picked): ok (newly achieved)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("deployDownLocal progress lacks %q:\n%s", want, out)
		}
	}
	if h := helmHistory(t, cluster.Kubeconfig, "picked", "core"); len(h) != 0 {
		t.Errorf("core still has %d revisions after deployDownLocal", len(h))
	}
}

func TestDeployLocalUnknownKubeContextIsRefusedWithTheContexts(t *testing.T) {
	// The kubeconfig's servers are never contacted: the context is refused when the file is read.
	kubeconfig, _ := closedKubeconfig(t)
	root := testenv.RepoRoot(t)
	for _, tt := range []struct {
		name     string
		env      env
		flag     string
		wantFrom string
	}{
		{"KUBE_CONTEXT", env{"KUBECONFIG": kubeconfig, "KUBE_CONTEXT": "nowher"}, "", "KUBE_CONTEXT=nowher"},
		{"-context", env{"KUBECONFIG": kubeconfig, "KUBE_CONTEXT": "nowhere"}, "nowher", "-context=nowher"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := &progress.Buffer{}
			cfg := lane.Config{Root: root, Getenv: tt.env.get, Progress: out, Stdout: out, KubeContext: tt.flag}
			for what, run := range map[string]func() error{
				"deployAllLocal":  func() error { return lane.DeployAllLocal(t.Context(), cfg) },
				"deployDownLocal": func() error { return lane.DeployDownLocal(t.Context(), cfg) },
			} {
				err := run()
				var unknown *deploy.UnknownContextError
				if !errors.As(err, &unknown) || unknown.Context != "nowher" {
					t.Fatalf("%s: %v, want *deploy.UnknownContextError for nowher", what, err)
				}
				for _, want := range []string{tt.wantFrom, `kube context "nowher" is not in the kubeconfig (KUBECONFIG=` + kubeconfig + ")",
					"its contexts are nowhere (current-context nowhere)", `did you mean "nowhere"?`} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error lacks %q: %v", what, want, err)
					}
				}
				if out.String() != "" {
					t.Errorf("%s printed progress before refusing:\n%s", what, out)
				}
			}
		})
	}
}

func TestClusterImagesAdvice(t *testing.T) {
	ws, err := lane.Open(t.Context(), lane.Config{Root: testenv.RepoRoot(t), Getenv: env{}.get})
	if err != nil {
		t.Fatal(err)
	}
	v := func(name string) string { return ws.Manifest.Component(name).Version }
	core := "shiplane/core:" + v("core")
	for _, tt := range []struct {
		context, cluster string
		want             []string
	}{
		{"kind-dev", "kind-dev", []string{`context "kind-dev" is a kind cluster (dev)`,
			"kind load docker-image " + core + " ", " --name dev\n",
			"DEV_REGISTRY=localhost:5000/shiplane go run mage.go pushAllDev", "LOCAL_REGISTRY_ADDR=0.0.0.0:5000 go run mage.go localRegistry", "mirror of docker.io", "containerdConfigPatches"}},
		{"k3d-lab", "k3d-lab", []string{`is a k3d cluster (lab)`, "k3d image import " + core + " ", " -c lab\n", "--registry-config"}},
		// The cluster entry's name says so when the context was renamed.
		{"work", "k3d-lab", []string{"k3d image import", " -c lab\n"}},
		{"docker-desktop", "docker-desktop", []string{"Docker Desktop's Kubernetes", "nothing to load"}},
		{"colima", "colima", []string{"Colima's Kubernetes", "nothing to load"}},
		{"prod-eu", "prod-eu", nil},
	} {
		got := ws.ClusterImagesAdvice(tt.context, tt.cluster)
		if len(tt.want) == 0 && got != "" {
			t.Errorf("%s/%s: advice %q, want none", tt.context, tt.cluster, got)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s/%s: advice lacks %q:\n%s", tt.context, tt.cluster, w, got)
			}
		}
	}
	// Every image the releases run is named, and nothing else: base has no chart.
	got := ws.ClusterImagesAdvice("kind-dev", "")
	for _, name := range []string{"core", "connector-fs", "connector-webhook", "scanner"} {
		if !strings.Contains(got, "shiplane/"+name+":"+v(name)) {
			t.Errorf("advice lacks %s's image:\n%s", name, got)
		}
	}
	if strings.Contains(got, "shiplane/base:") {
		t.Errorf("advice names base, which no release runs:\n%s", got)
	}
}
