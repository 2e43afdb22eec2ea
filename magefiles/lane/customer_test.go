package lane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/kube/kubetest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
)

var renderedImage = regexp.MustCompile(`(?m)^\s*image:\s*"?([^"\s]+)"?\s*$`)

// pinnedRef is a rendered image reference as a published chart must give it:
// <registry>/<path>/<name>[:<tag>]@sha256:<64 hex>.
var pinnedRef = regexp.MustCompile(`^([^@]+?)(?::([^:@/]+))?@(sha256:[0-9a-f]{64})$`)

// consumeAsACustomer does what a customer of a published umbrella chart does, with the real
// clients: pulls the chart from the chart repository by version (Helm SDK), renders it as
// `helm template` does, and checks that every image it installs is the one the lane published to
// registry, pinned by the digest the registry holds under that tag; then pulls each rendered
// reference with the Docker daemon, runs it, and asks /version for the component's version.
// versions maps each image name to its component's version. It returns the rendered references.
//
// Then it installs the chart as `helm install` does, into a real kube-apiserver (no kubelet runs
// there, so no pod starts), and checks every Deployment's image is one of those references.
func consumeAsACustomer(t *testing.T, ctx context.Context, chartRepo, imagePrefix, umbrellaVersion string, versions map[string]string) []string {
	t.Helper()
	host, _, _ := strings.Cut(strings.TrimPrefix(chartRepo, "oci://"), "/")
	cl, err := helm.NewClient(helm.WithInsecureHosts(host))
	if err != nil {
		t.Fatal(err)
	}
	data, err := cl.PullChart(ctx, chartRepo, "platform", umbrellaVersion)
	if err != nil {
		t.Fatalf("helm pull %s/platform --version %s: %v", chartRepo, umbrellaVersion, err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := deploy.Render(ctx, &deploy.Release{Name: "demo", Namespace: "default", Chart: ch})
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	var refs []string
	for _, m := range renderedImage.FindAllStringSubmatch(manifest, -1) {
		refs = append(refs, m[1])
	}
	if len(refs) == 0 {
		t.Fatalf("the published umbrella renders no image:\n%s", manifest)
	}
	reg := registry.New()
	seen := map[string]bool{}
	for _, ref := range refs {
		m := pinnedRef.FindStringSubmatch(ref)
		if m == nil || !strings.HasPrefix(m[1], imagePrefix+"/") {
			t.Errorf("rendered image %q is not %s/<name>:<tag>@sha256:… (the image this lane published)", ref, imagePrefix)
			continue
		}
		name := strings.TrimPrefix(m[1], imagePrefix+"/")
		if versions[name] == "" || m[2] != "" && m[2] != versions[name] {
			t.Errorf("rendered image %q: tag %q, want the component's version %q", ref, m[2], versions[name])
		}
		// The digest is the one the lane published under the version's tag.
		d, present, err := reg.Digest(ctx, m[1]+":"+versions[name])
		if err != nil || !present || d != m[3] {
			t.Errorf("rendered image %q: the registry holds %q (present %v, %v) under %s:%s", ref, d, present, err, m[1], versions[name])
		}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		runAndAskVersion(t, ctx, ref, versions[name])
	}
	installAndCheckImages(t, ctx, ch, refs)
	return refs
}

// installAndCheckImages installs ch into a real kube-apiserver with the Helm SDK and checks that
// every Deployment runs one of refs.
func installAndCheckImages(t *testing.T, ctx context.Context, ch *chart.Chart, refs []string) {
	t.Helper()
	cluster := kubetest.Start(t)
	c, err := deploy.Connect(ctx, "default", deploy.WithKubeconfig(cluster.Kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Helm.Apply(ctx, &deploy.Release{Name: "demo", Namespace: "default", Chart: ch}, deploy.ApplyOptions{}); err != nil {
		t.Fatalf("helm install demo: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	deps, err := cs.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) == 0 {
		t.Fatal("the installed chart made no Deployment")
	}
	for _, d := range deps.Items {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			if !slices.Contains(refs, ctr.Image) {
				t.Errorf("deployment %s runs %s, not one of the published references %v", d.Name, ctr.Image, refs)
			}
		}
	}
}

// runAndAskVersion pulls ref with the Docker daemon (checking it gets the daemon's platform's
// image), runs it (PORT=8080, every service honours it) with that port published on
// loopback, and checks that GET /version answers version.
func runAndAskVersion(t *testing.T, ctx context.Context, ref, version string) {
	t.Helper()
	docker := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	docker("pull", "-q", ref)
	// A pinned index digest gives the daemon the image of its own platform.
	if arch := docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", ref); arch != "linux/"+runtime.GOARCH {
		t.Errorf("docker pull %s gave a %s image, want this daemon's linux/%s", ref, arch, runtime.GOARCH)
	}
	id := docker("run", "-d", "-e", "PORT=8080", "-p", "127.0.0.1::8080", ref)
	defer exec.Command("docker", "rm", "-f", id).Run() //nolint:errcheck // cleanup
	port := docker("port", id, "8080/tcp")
	url := "http://" + port + "/version"
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := getVersion(ctx, url)
		if err == nil {
			if got != version {
				t.Errorf("%s: /version says %q, want %q", ref, got, version)
			}
			return
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Fatalf("%s: /version did not answer: %v\n%s", ref, err, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func getVersion(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	var v struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// imageVersions maps each image name of ws to its component's version.
func imageVersions(ws *lane.Workspace) map[string]string {
	out := map[string]string{}
	for _, c := range ws.Manifest.Components {
		if c.Image != nil {
			out[c.Image.Name] = c.Version
		}
	}
	return out
}
