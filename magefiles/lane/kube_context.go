package lane

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shiplane/shiplane/magefiles/deploy"
)

// connect reaches the cluster of s's context. A context the kubeconfig does not have is a
// *deploy.UnknownContextError, wrapped with the setting that named it.
func (s DeploySettings) connect(ctx context.Context) (*deploy.Cluster, error) {
	cl, err := deploy.Connect(ctx, s.Namespace, deploy.WithKubeconfig(s.Kubeconfig), deploy.WithContext(s.Context))
	if unknown := (*deploy.UnknownContextError)(nil); errors.As(err, &unknown) {
		return nil, fmt.Errorf("%s=%s: %w", s.ContextFrom, s.Context, err)
	}
	return cl, err
}

// contextNote says what chose the context.
func (s DeploySettings) contextNote() string {
	if s.ContextFrom != "" {
		return "context chosen by " + s.ContextFrom
	}
	return "the kubeconfig's current-context (KUBE_CONTEXT or -context picks another)"
}

// ClusterKind is how a kube context's cluster gets the images buildAllLocal built.
type ClusterKind struct {
	// Tool is "kind", "k3d", "docker-desktop", "colima", or "" for a cluster shiplane cannot tell.
	Tool string
	// Name is the cluster's name for its tool ("dev" for the context kind-dev).
	Name string
}

// SharesDaemon reports whether the cluster runs the images of the Docker daemon it belongs to
// (Docker Desktop's and Colima's Kubernetes), so buildAllLocal's images need no loading.
func (k ClusterKind) SharesDaemon() bool { return k.Tool == "docker-desktop" || k.Tool == "colima" }

// ClassifyCluster tells a kube context's cluster from its context name and its kubeconfig cluster
// name, as the tools write them: kind names both kind-<cluster>, k3d k3d-<cluster>, Docker Desktop
// docker-desktop, Colima colima (colima-<profile> for another profile). Anything else is the zero
// ClusterKind.
func ClassifyCluster(contextName, clusterName string) ClusterKind {
	for _, n := range []string{contextName, clusterName} {
		for _, tool := range []string{"kind", "k3d"} {
			if name, ok := strings.CutPrefix(n, tool+"-"); ok && name != "" {
				return ClusterKind{Tool: tool, Name: name}
			}
		}
		switch {
		case n == "docker-desktop":
			return ClusterKind{Tool: "docker-desktop", Name: n}
		case n == "colima":
			return ClusterKind{Tool: "colima", Name: "default"}
		case strings.HasPrefix(n, "colima-"):
			return ClusterKind{Tool: "colima", Name: strings.TrimPrefix(n, "colima-")}
		}
	}
	return ClusterKind{}
}

// ClusterImagesAdvice says how the cluster of a kube context gets the images the releases run
// (<project>/<image>:<version>, pull policy IfNotPresent), or "" when shiplane cannot tell what
// the cluster is. A kind or k3d cluster's nodes keep images of their own: they must be loaded
// into it, or served from a registry the cluster pulls docker.io images through. Docker Desktop's
// and Colima's Kubernetes run the daemon's images as they are.
func (w *Workspace) ClusterImagesAdvice(contextName, clusterName string) string {
	k := ClassifyCluster(contextName, clusterName)
	if k.Tool == "" {
		return ""
	}
	if k.SharesDaemon() {
		return fmt.Sprintf("context %q is %s's Kubernetes: it runs the images of its own Docker daemon, so the images "+
			"buildAllLocal built against that daemon are used as they are (nothing to load)", contextName, map[string]string{
			"docker-desktop": "Docker Desktop", "colima": "Colima"}[k.Tool])
	}
	var images []string
	for _, c := range w.deployComponents() {
		if c.Image != nil {
			images = append(images, w.LocalImage(c)+":"+c.Version)
		}
	}
	if len(images) == 0 {
		return ""
	}
	list := strings.Join(images, " ")
	var load, mirror string
	switch k.Tool {
	case "kind":
		load = fmt.Sprintf("kind load docker-image %s --name %s", list, k.Name)
		mirror = "a containerdConfigPatches entry in the kind cluster's configuration"
	case "k3d":
		load = fmt.Sprintf("k3d image import %s -c %s", list, k.Name)
		mirror = "k3d cluster create --registry-config <registries.yaml>"
	}
	return fmt.Sprintf(`context %q is a %s cluster (%s): its nodes keep their own images and do not see this Docker daemon's, so the releases' pods cannot start until the images are there. Either
  load what buildAllLocal built:
    %s
  or serve them from a registry the cluster's nodes use as their mirror of docker.io (%s), since the releases run %s/<image>:<version>:
    LOCAL_REGISTRY_ADDR=0.0.0.0:5000 go run mage.go localRegistry
    DEV_REGISTRY=localhost:5000/%s go run mage.go pushAllDev
  with the mirror's endpoint http://<this machine's address as the nodes reach it>:5000`,
		contextName, k.Tool, k.Name, load, mirror, w.Manifest.Project, w.Manifest.Project)
}
