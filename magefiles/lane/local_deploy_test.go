package lane_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/deploy/deploytest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/kube/kubetest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// deployProject is the image prefix of the repository copies these tests deploy; CopyRepo removes
// the images of that prefix when a test ends, so it must never be the shared "shiplane".
const deployProject = "shiplanedeploy"

var deployCharts = []string{"core", "connector-fs", "connector-webhook", "scanner", "web"}

type env map[string]string

func (e env) get(k string) string { return e[k] }

func editFile(t *testing.T, root, file, old, new string) (restore func()) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(file))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// closedKubeconfig writes a kubeconfig whose current context, "nowhere", points at a loopback port
// nothing listens on. It returns the file and the server URL.
func closedKubeconfig(t *testing.T) (string, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := "https://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: server, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["nowhere"] = &clientcmdapi.AuthInfo{Token: "unused"}
	cfg.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: "nowhere"}
	cfg.CurrentContext = "nowhere"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path, server
}

// helmHistory reads a release's history the way the helm CLI does: Helm's kube client and secrets
// storage driver, configured from the kubeconfig, independently of the code under test.
func helmHistory(t *testing.T, kubeconfig, namespace, name string) []*release.Release {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &kubeconfig
	flags.Namespace = &namespace
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	h, err := action.NewHistory(cfg).Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("helm history %s: %v", name, err)
	}
	return h
}

func revisions(t *testing.T, kubeconfig, namespace string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range deployCharts {
		h := helmHistory(t, kubeconfig, namespace, name)
		if len(h) == 0 {
			out[name] = "none"
			continue
		}
		last := h[len(h)-1]
		for _, r := range h {
			if r.Version > last.Version {
				last = r
			}
		}
		out[name] = strconv.Itoa(last.Version) + " " + last.Info.Status.String()
	}
	return out
}

func wantRevisions(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("release %s: %s, want %s", name, got[name], w)
		}
	}
}

func TestDeployLocalAgainstAPIServer(t *testing.T) {
	cluster := kubetest.Start(t)
	root := testenv.CopyRepo(t, deployProject)
	e := env{"KUBECONFIG": cluster.Kubeconfig}
	out := &progress.Buffer{}
	cfg := lane.Config{Root: root, Getenv: e.get, Progress: out, Stdout: out}
	ctx := t.Context()
	cs, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := lane.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	version := func(name string) string { return ws.Manifest.Component(name).Version }

	// First run: the namespace and every release are created.
	start := time.Now()
	if err := lane.DeployAllLocal(ctx, cfg); err != nil {
		t.Fatalf("deployAllLocal: %v\n%s", err, out)
	}
	t.Logf("first deployAllLocal (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	for _, want := range []string{
		"namespace exists shiplane: ok (newly achieved)",
		"core: release deployed core (shiplane): ok (newly achieved)",
		"connector-fs: release deployed connector-fs (shiplane): ok (newly achieved)",
		"connector-webhook: release deployed connector-webhook (shiplane): ok (newly achieved)",
		"scanner: release deployed scanner (shiplane): ok (newly achieved)",
		"web: release deployed web (shiplane): ok (newly achieved)",
		`context "kubetest", server ` + cluster.Server,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "shiplane", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("namespace shiplane: %v", err)
	}
	if ns.Labels[deploy.ManagedByLabel] != "shiplane" {
		t.Errorf("namespace labels = %v", ns.Labels)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "shiplane"), map[string]string{
		"core": "1 deployed", "connector-fs": "1 deployed", "connector-webhook": "1 deployed", "scanner": "1 deployed", "web": "1 deployed",
	})
	envs := map[string]map[string]string{}
	for _, name := range deployCharts {
		dep, err := cs.AppsV1().Deployments("shiplane").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("deployment %s: %v", name, err)
			continue
		}
		c := dep.Spec.Template.Spec.Containers[0]
		if want := deployProject + "/" + name + ":" + version(name); c.Image != want || c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("deployment %s runs %s (%s), want %s (IfNotPresent)", name, c.Image, c.ImagePullPolicy, want)
		}
		envs[name] = map[string]string{}
		for _, v := range c.Env {
			envs[name][v.Name] = v.Value
		}
		svc, err := cs.CoreV1().Services("shiplane").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("service %s: %v", name, err)
			continue
		}
		if svc.Spec.ClusterIP == "" || len(svc.Spec.Ports) != 1 {
			t.Errorf("service %s: cluster IP %q, ports %v", name, svc.Spec.ClusterIP, svc.Spec.Ports)
		}
	}
	for name, want := range map[string][2]string{
		"connector-fs":      {"CORE_URL", "http://core:8080"},
		"connector-webhook": {"CORE_URL", "http://core:8080"},
		"core":              {"SCANNER_URL", "http://scanner:8083"},
	} {
		if got := envs[name][want[0]]; got != want[1] {
			t.Errorf("%s: %s=%q, want %q", name, want[0], got, want[1])
		}
	}

	// Second run, nothing changed: no new revision.
	out.Reset()
	if err := lane.DeployAllLocal(ctx, cfg); err != nil {
		t.Fatalf("second deployAllLocal: %v\n%s", err, out)
	}
	t.Logf("second deployAllLocal:\n%s", out)
	if n := strings.Count(out.String(), "ok (already achieved)"); n != 6 {
		t.Errorf("second run: %d goals already achieved, want 6:\n%s", n, out)
	}
	if strings.Contains(out.String(), "newly achieved") {
		t.Errorf("second run achieved something:\n%s", out)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "shiplane"), map[string]string{
		"core": "1 deployed", "connector-fs": "1 deployed", "connector-webhook": "1 deployed", "scanner": "1 deployed", "web": "1 deployed",
	})

	// A changed value: revision 2 of that release only.
	editFile(t, root, "charts/core/values.yaml", "env: {}", "env:\n  LOG_LEVEL: debug")
	out.Reset()
	if err := lane.DeployAllLocal(ctx, cfg); err != nil {
		t.Fatalf("deployAllLocal after a change: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "core: release deployed core (shiplane): ok (newly achieved)") {
		t.Errorf("changed core not upgraded:\n%s", out)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "shiplane"), map[string]string{
		"core": "2 deployed", "connector-fs": "1 deployed", "connector-webhook": "1 deployed", "scanner": "1 deployed", "web": "1 deployed",
	})
	dep, err := cs.AppsV1().Deployments("shiplane").Get(ctx, "core", metav1.GetOptions{})
	if err != nil || !hasEnv(dep, "LOG_LEVEL", "debug") {
		t.Errorf("core deployment lacks LOG_LEVEL=debug after the upgrade (%v)", err)
	}

	// A chart that does not render: reported before the cluster is touched.
	before := revisions(t, cluster.Kubeconfig, "shiplane")
	restore := editFile(t, root, "charts/connector-webhook/templates/deployment.yaml", "{{ .Values.replicaCount }}", "{{ .Values.replicaCount ")
	editFile(t, root, "charts/core/values.yaml", "LOG_LEVEL: debug", "LOG_LEVEL: info")
	out.Reset()
	err = lane.DeployAllLocal(ctx, cfg)
	var ce *deploy.ChartError
	if !errors.As(err, &ce) || ce.Chart != "connector-webhook" || !strings.Contains(err.Error(), "templates/deployment.yaml") {
		t.Errorf("err = %v, want a *deploy.ChartError naming connector-webhook and templates/deployment.yaml", err)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "shiplane"), before)
	restore()

	// A chart whose objects the API server rejects, installed into a fresh namespace: the
	// release fails with the server's message and the chart's name; the others install.
	restore = editFile(t, root, "charts/scanner/templates/service.yaml", "port: {{ .Values.service.port }}", "port: 70000")
	e["DEPLOY_NAMESPACE"] = "rejected"
	out.Reset()
	err = lane.DeployAllLocal(ctx, cfg)
	var re *deploy.ReleaseError
	if !errors.As(err, &re) || re.Release != "scanner" || re.Chart != "scanner" || re.Op != "installing" {
		t.Fatalf("err = %v, want a *deploy.ReleaseError installing scanner", err)
	}
	for _, want := range []string{"chart scanner", "70000", "must be between 1 and 65535"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !apierrors.IsInvalid(status) {
		t.Errorf("error does not wrap the API server's Invalid status: %v", err)
	}
	t.Logf("deployAllLocal with a rejected chart:\n%s", out)
	if !strings.Contains(out.String(), "scanner: release deployed scanner (rejected): failed (") {
		t.Errorf("progress lacks the failure:\n%s", out)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "rejected"), map[string]string{
		"core": "1 deployed", "connector-fs": "1 deployed", "connector-webhook": "1 deployed", "scanner": "1 failed", "web": "1 deployed",
	})
	restore()
	out.Reset()
	if err := lane.DeployAllLocal(ctx, cfg); err != nil {
		t.Fatalf("deployAllLocal after fixing the chart: %v\n%s", err, out)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "rejected"), map[string]string{
		"core": "1 deployed", "scanner": "2 deployed",
	})
	delete(e, "DEPLOY_NAMESPACE")

	// deployDownLocal removes every release, dependents first, and keeps the namespace.
	out.Reset()
	if err := lane.DeployDownLocal(ctx, cfg); err != nil {
		t.Fatalf("deployDownLocal: %v\n%s", err, out)
	}
	t.Logf("deployDownLocal:\n%s", out)
	lines := strings.Split(out.String(), "\n")
	order := []string{}
	for _, l := range lines {
		if strings.Contains(l, "release uninstalled") && strings.Contains(l, "ok (newly achieved)") {
			order = append(order, strings.SplitN(l, ":", 2)[0])
		}
	}
	if len(order) != 5 {
		t.Errorf("uninstalled %v, want 5 releases:\n%s", order, out)
	}
	wantRevisions(t, revisions(t, cluster.Kubeconfig, "shiplane"), map[string]string{
		"core": "none", "connector-fs": "none", "connector-webhook": "none", "scanner": "none", "web": "none",
	})
	for _, name := range deployCharts {
		if _, err := cs.AppsV1().Deployments("shiplane").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("deployment %s still there (%v)", name, err)
		}
		if _, err := cs.CoreV1().Services("shiplane").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("service %s still there (%v)", name, err)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "shiplane", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace shiplane: %v", err)
	}
	out.Reset()
	if err := lane.DeployDownLocal(ctx, cfg); err != nil {
		t.Fatalf("second deployDownLocal: %v\n%s", err, out)
	}
	if n := strings.Count(out.String(), "ok (already achieved)"); n != 5 {
		t.Errorf("second deployDownLocal: %d already achieved, want 5:\n%s", n, out)
	}
}

func hasEnv(dep *appsv1.Deployment, name, value string) bool {
	for _, v := range dep.Spec.Template.Spec.Containers[0].Env {
		if v.Name == name && v.Value == value {
			return true
		}
	}
	return false
}

func TestDeployLocalUnreachableClusterFailsFast(t *testing.T) {
	kc, server := closedKubeconfig(t)
	cfg := lane.Config{Root: testenv.RepoRoot(t), Getenv: env{"KUBECONFIG": kc}.get, Progress: &progress.Buffer{}}
	for name, fn := range map[string]func(context.Context, lane.Config) error{
		"deployAllLocal":  lane.DeployAllLocal,
		"deployDownLocal": lane.DeployDownLocal,
	} {
		start := time.Now()
		err := fn(t.Context(), cfg)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s took %s to fail", name, took)
		}
		var ue *deploy.UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: err = %v, want *deploy.UnreachableError", name, err)
		}
		for _, want := range []string{`context "nowhere"`, server, "KUBECONFIG", "kubectl config use-context", "start a local cluster"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message lacks %q: %v", name, want, err)
			}
		}
	}
}

// Bad input is reported before the cluster is contacted: the kubeconfig points at a closed port,
// yet the error is about the chart, never about the cluster.
func TestDeployLocalBadInputNamesChartAndFileAndTouchesNothing(t *testing.T) {
	kc, _ := closedKubeconfig(t)
	root := testenv.CopyRepo(t, deployProject)
	cfg := lane.Config{Root: root, Getenv: env{"KUBECONFIG": kc}.get, Progress: &progress.Buffer{}}
	deployErr := func() error {
		t.Helper()
		err := lane.DeployAllLocal(t.Context(), cfg)
		var ue *deploy.UnreachableError
		if errors.As(err, &ue) {
			t.Fatalf("the cluster was contacted despite bad input: %v", err)
		}
		return err
	}

	t.Run("template error", func(t *testing.T) {
		defer editFile(t, root, "charts/core/templates/service.yaml", "{{ .Values.service.type }}", "{{ .Values.service.type ")()
		err := deployErr()
		var ce *deploy.ChartError
		if !errors.As(err, &ce) || ce.Chart != "core" || ce.Op != "rendering" {
			t.Fatalf("err = %v, want *deploy.ChartError rendering core", err)
		}
		for _, want := range []string{"chart core", "charts/core", "templates/service.yaml"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message lacks %q: %v", want, err)
			}
		}
	})
	t.Run("values of the wrong type", func(t *testing.T) {
		defer editFile(t, root, "charts/core/values.yaml", "  port: 8080", "  port: http")()
		err := deployErr()
		var ve *lane.ValuesError
		if !errors.As(err, &ve) || ve.Chart != "core" || ve.File != "charts/core/values.yaml" || ve.Key != "service.port" {
			t.Fatalf("err = %v, want *lane.ValuesError for service.port in charts/core/values.yaml", err)
		}
		if !strings.Contains(err.Error(), `chart core: charts/core/values.yaml: service.port must be a port number, not the string "http"`) {
			t.Errorf("message: %v", err)
		}
	})
	t.Run("image not a mapping", func(t *testing.T) {
		defer editFile(t, root, "charts/scanner/values.yaml", "image:\n  repository: shiplane/scanner", "image: shiplane/scanner\nimage_:\n  repository: shiplane/scanner")()
		err := deployErr()
		var ve *lane.ValuesError
		if !errors.As(err, &ve) || ve.Chart != "scanner" || ve.File != "charts/scanner/values.yaml" || ve.Key != "image" {
			t.Fatalf("err = %v, want *lane.ValuesError for image in charts/scanner/values.yaml", err)
		}
	})
	t.Run("object field of the wrong type", func(t *testing.T) {
		defer editFile(t, root, "charts/connector-fs/values.yaml", "replicaCount: 1", "replicaCount: many")()
		err := deployErr()
		var ce *deploy.ChartError
		var oe *deploy.ObjectError
		if !errors.As(err, &ce) || ce.Chart != "connector-fs" || ce.File != "templates/deployment.yaml" || !errors.As(err, &oe) {
			t.Fatalf("err = %v, want *deploy.ChartError with an *deploy.ObjectError in connector-fs templates/deployment.yaml", err)
		}
	})
}

func TestDeployLocalSettings(t *testing.T) {
	root := testenv.RepoRoot(t)
	settings := func(e env) (lane.DeploySettings, error) {
		ws, err := lane.Open(t.Context(), lane.Config{Root: root, Getenv: e.get})
		if err != nil {
			t.Fatal(err)
		}
		return ws.LocalDeploySettings()
	}
	s, err := settings(env{})
	if err != nil || s.Namespace != "shiplane" || s.Wait || s.Timeout != deploy.DefaultTimeout || s.Kubeconfig != "" {
		t.Errorf("defaults = %+v, %v", s, err)
	}
	s, err = settings(env{"DEPLOY_NAMESPACE": "demo", "DEPLOY_WAIT": "1", "DEPLOY_TIMEOUT": "90s", "KUBECONFIG": "/a:/b"})
	if err != nil || s.Namespace != "demo" || !s.Wait || s.Timeout != 90*time.Second || s.Kubeconfig != "/a:/b" {
		t.Errorf("settings = %+v, %v", s, err)
	}
	for k, v := range map[string]string{"DEPLOY_NAMESPACE": "Not_A_Namespace", "DEPLOY_WAIT": "maybe", "DEPLOY_TIMEOUT": "soon"} {
		_, err := settings(env{k: v})
		var se *lane.SettingError
		if !errors.As(err, &se) || se.Name != k || !strings.Contains(err.Error(), "fix:") {
			t.Errorf("%s=%s: err = %v, want *lane.SettingError", k, v, err)
		}
	}
}

// recordingReleases records the order of installs and uninstalls reaching a fake cluster's Helm.
type recordingReleases struct {
	deploy.Releases
	mu    sync.Mutex
	calls []string
}

func (r *recordingReleases) Apply(ctx context.Context, rel *deploy.Release, opts deploy.ApplyOptions) (*release.Release, error) {
	r.mu.Lock()
	r.calls = append(r.calls, "apply "+rel.Name)
	r.mu.Unlock()
	return r.Releases.Apply(ctx, rel, opts)
}

func (r *recordingReleases) Uninstall(ctx context.Context, name string, opts deploy.ApplyOptions) error {
	r.mu.Lock()
	r.calls = append(r.calls, "uninstall "+name)
	r.mu.Unlock()
	return r.Releases.Uninstall(ctx, name, opts)
}

func (r *recordingReleases) index(call string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range r.calls {
		if c == call {
			return i
		}
	}
	return -1
}

// Readiness can only be faked here: no pod ever runs on the test API server. Helm's fake kube client
// (deploytest) records the waits DEPLOY_WAIT=1 asks for.
func TestDeployLocalWaitFake(t *testing.T) {
	ws, err := lane.Open(t.Context(), lane.Config{Root: testenv.RepoRoot(t), Progress: &progress.Buffer{},
		Getenv: env{"DEPLOY_WAIT": "1", "DEPLOY_TIMEOUT": "42s"}.get})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ws.LocalDeploySettings()
	if err != nil {
		t.Fatal(err)
	}
	rels, err := ws.LocalReleases(t.Context(), s.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	fc := deploytest.NewFakeCluster(t, s.Namespace)
	rec := &recordingReleases{Releases: fc.Helm}

	rep := ws.RunLocalDeploy(t.Context(), rels, fc.Namespaces, rec, s)
	if rep.Count(goal.NewlyAchieved) != 6 || rep.Err() != nil {
		t.Fatalf("first run: %s: %v", rep.Summary(), rep.Err())
	}
	if w := fc.Kube.Waits(); len(w) != 5 || w[0] != 42*time.Second || w[4] != 42*time.Second {
		t.Errorf("waits = %v, want 5 of 42s", w)
	}
	for _, connector := range []string{"connector-fs", "connector-webhook"} {
		if rec.index("apply core") > rec.index("apply "+connector) {
			t.Errorf("%s was installed before core: %v", connector, rec.calls)
		}
	}

	rep = ws.RunLocalDeploy(t.Context(), rels, fc.Namespaces, rec, s)
	if rep.Count(goal.AlreadyAchieved) != 6 {
		t.Errorf("second run: %s", rep.Summary())
	}
	if w := fc.Kube.Waits(); len(w) != 5 {
		t.Errorf("second run waited: %v", w)
	}

	// Not ready in time: each release fails with the reason; dependents are blocked.
	fc.Kube.WaitError = errors.New("timed out waiting for the condition")
	ws.Manifest.Component("core").Version = "9.9.9" // a new tag, so core upgrades
	rels, err = ws.LocalReleases(t.Context(), s.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	rep = ws.RunLocalDeploy(t.Context(), rels, fc.Namespaces, rec, s)
	for _, res := range rep.Results {
		if res.Component == "core" && (res.Status != goal.Failed || !strings.Contains(res.Reason, "timed out waiting for the condition")) {
			t.Errorf("core: %s", res.Line())
		}
	}
	fc.Kube.WaitError = nil

	rep = ws.RunLocalUndeploy(t.Context(), rec, s)
	if rep.Count(goal.NewlyAchieved) != 5 || rep.Err() != nil {
		t.Fatalf("undeploy: %s: %v", rep.Summary(), rep.Err())
	}
	if w := fc.Kube.DeleteWaits(); len(w) != 5 || w[0] != 42*time.Second {
		t.Errorf("delete waits = %v, want 5 of 42s", w)
	}
	for _, connector := range []string{"connector-fs", "connector-webhook"} {
		if rec.index("uninstall core") < rec.index("uninstall "+connector) {
			t.Errorf("core was uninstalled before %s: %v", connector, rec.calls)
		}
	}
	if rep.Results[len(rep.Results)-1].Component != "core" {
		t.Errorf("report order: %v, want core last", rep.Results)
	}
}
