package ci_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/shiplane/shiplane/magefiles/testenv"
)

// readmeEnvKeys are the variables that change what the README's commands do; the blocks run as a
// new user would run them, without any of them.
var readmeEnvKeys = []string{
	"COMPONENTS", "COMPOSE_INCLUDE", "COMPOSE_PROJECT_NAME", "IMAGE_TAG", "CORE_PORT", "WEBHOOK_PORT",
	"SCANNER_PORT", "WEB_PORT", "FS_INBOX", "DEV_REGISTRY", "DEV_CHART_REPO", "LOCAL_REGISTRY_ADDR",
	"LOCAL_REGISTRY_DIR", "PLATFORMS", "SHIPLANE_COMPONENTS", "SHIPLANE_SETTINGS", "SHIPLANE_RELEASE",
	"SHIPLANE_REPORT", "SHIPLANE_PLAN_JSON", "DOCKER_HOST", "DOCKER_CONTEXT", "KUBE_CONTEXT",
}

// TestReadmeBlocksRunAsWritten runs scripts/readme-blocks: every ```sh block of the README, in
// order, in a fresh clone of the repository at HEAD (uncommitted edits are not in it), and the
// `go run mage.go -l` transcript compared with the real listing.
//
// The blocks use the real names: images shiplane/*:latest, the compose project and shared network
// shiplane, ports 18080-18085 and 5000. So that they touch nothing else on the machine (the lane
// tests' projects join a shared network of the same name, whose service names are DNS aliases),
// the script runs against a second dockerd of its own (testenv.SecondDaemon, through DOCKER_HOST)
// and inside that daemon's network namespace (nsenter), where the published ports, the local
// registry's port and the containers' bridges are the namespace's own, and no FORWARD rule of the
// host's firewall applies. A file lock in os.TempDir guards the clone's folder against a second
// run.
func TestReadmeBlocksRunAsWritten(t *testing.T) {
	testenv.RequireDocker(t)
	host := testenv.SecondDaemon(t)
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 25*time.Minute)
	defer cancel()

	lock := flock.New(filepath.Join(os.TempDir(), "shiplane-readme-blocks.lock"))
	if _, err := lock.TryLockContext(ctx, 500*time.Millisecond); err != nil {
		t.Fatalf("waiting for %s: %v", lock, err)
	}
	defer lock.Unlock()

	netns := daemonNetns(t, host)

	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(readmeEnvKeys, k) {
			env = append(env, kv)
		}
	}
	env = append(env, "DOCKER_HOST="+host, "CGO_ENABLED=0")

	cmd := exec.CommandContext(ctx, "nsenter", "--net="+netns, "--", "bash", filepath.Join(root, "scripts", "readme-blocks"))
	cmd.Dir, cmd.Env = root, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Minute
	start := time.Now()
	err := cmd.Run()
	t.Logf("scripts/readme-blocks took %s", time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("scripts/readme-blocks: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"comparing the output of $ go run mage.go -l", "every block ran as written"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if testing.Verbose() {
		t.Log(got)
	}
}

// daemonNetns returns the network namespace (/proc/<pid>/ns/net) of the dockerd testenv started at
// host, whose pidfile is beside its socket, with its loopback interface up (a new namespace's is
// down), so that localhost reaches the ports its containers publish.
func daemonNetns(t *testing.T, host string) string {
	t.Helper()
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Fatalf("nsenter (util-linux) runs the README's blocks in the second dockerd's network namespace: %v", err)
	}
	pidFile := filepath.Join(filepath.Dir(strings.TrimPrefix(host, "unix://")), "docker.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("reading the second dockerd's pid: %v", err)
	}
	netns := "/proc/" + strings.TrimSpace(string(data)) + "/ns/net"
	if out, err := exec.CommandContext(t.Context(), "nsenter", "--net="+netns, "--", "ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bringing up the loopback interface in %s: %v: %s", netns, err, out)
	}
	return netns
}
