package plan_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPlanningImportsNoBackend keeps deciding apart from acting (house rule 2): the planning
// packages must not reach a backend, directly or through anything they import.
func TestPlanningImportsNoBackend(t *testing.T) {
	const mod = "github.com/shiplane/shiplane/magefiles/"
	planning := []string{"graph", "version", "guard", "plan", "published"}
	forbidden := []string{
		mod + "docker", mod + "registry", mod + "helm", mod + "compose", mod + "git", mod + "github",
		mod + "deploy", mod + "lane", mod + "build", mod + "publish", mod + "localregistry",
		"github.com/moby/", "github.com/docker/", "github.com/google/go-containerregistry",
		"github.com/google/go-github", "github.com/distribution/", "helm.sh/", "k8s.io/",
		"github.com/compose-spec/", "os/exec", "net/http",
	}
	for _, p := range planning {
		out, err := exec.Command("go", "list", "-deps", mod+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 2 {
			t.Fatalf("go list -deps %s listed nothing: %q", p, out)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, f) && (strings.HasSuffix(f, "/") || d == f || strings.HasPrefix(d, f+"/")) {
					t.Errorf("%s imports %s (via its dependencies); planning code must not reach a backend", p, d)
				}
			}
		}
	}
}
