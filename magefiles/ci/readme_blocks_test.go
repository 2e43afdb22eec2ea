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
// shiplane, ports 18080-18085 and 5000. So that they touch nothing the other tests use (the lane
// tests' projects join the same shared network, whose service names are DNS aliases), they run
// against a second dockerd of their own (testenv.SecondDaemon) through DOCKER_HOST; the host
// ports and the clone's folder are guarded by a file lock in os.TempDir against a second run.
// The second dockerd writes no iptables rules, and the default one's FORWARD policy drops bridged
// traffic it does not know, so the shared network is made beforehand under a bridge name of the
// test's own, which one DOCKER-USER rule lets its containers talk on (connector → core).
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

	sharedNetworkOnSecondDaemon(t, host)

	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(readmeEnvKeys, k) {
			env = append(env, kv)
		}
	}
	env = append(env, "DOCKER_HOST="+host, "CGO_ENABLED=0")

	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "readme-blocks"))
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

// readmeBridge is the Linux bridge of the shared network on the second dockerd.
const readmeBridge = "slreadme0"

// sharedNetworkOnSecondDaemon creates the shared network "shiplane" (composeUpLocal uses it as it
// finds it) on the dockerd at host as the bridge readmeBridge, and lets traffic between its
// containers through the host's FORWARD chain until the test ends. Without the docker CLI or
// iptables it logs why and does neither: the blocks still run, but a connector cannot reach core
// (the README's curl to the webhook prints core's timeout and still exits 0).
func sharedNetworkOnSecondDaemon(t *testing.T, host string) {
	t.Helper()
	rule := []string{"DOCKER-USER", "-i", readmeBridge, "-o", readmeBridge, "-j", "ACCEPT"}
	if out, err := exec.CommandContext(t.Context(), "docker", "-H", host, "network", "create",
		"-o", "com.docker.network.bridge.name="+readmeBridge, "shiplane").CombinedOutput(); err != nil {
		t.Logf("creating the shared network on the second dockerd: %v: %s; Compose creates it, and its containers cannot talk", err, out)
		return
	}
	if out, err := exec.CommandContext(t.Context(), "iptables", append([]string{"-I"}, rule...)...).CombinedOutput(); err != nil {
		t.Logf("letting traffic through %s: %v: %s; its containers cannot talk", readmeBridge, err, out)
		return
	}
	t.Cleanup(func() {
		if out, err := exec.Command("iptables", append([]string{"-D"}, rule...)...).CombinedOutput(); err != nil {
			t.Errorf("removing the iptables rule for %s: %v: %s", readmeBridge, err, out)
		}
	})
}
