package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/shiplane/shiplane/magefiles/docker"
)

// second is the second dockerd of this test process: started by the first test that asks for
// it, shared by the tests that run meanwhile, stopped when the last of them ends.
var second struct {
	mu    sync.Mutex
	users int
	host  string
	stop  func() error
}

// SecondDaemon returns the host ("unix:///tmp/shiplane-dockerd-…/docker.sock") of a dockerd
// of its own beside the default one: its own socket, data root, exec root and pidfile, no bridge
// and no iptables rules, so it touches nothing of the default daemon. It stands in for a Colima
// VM's daemon or a remote engine chosen through a Docker context. Tests running at once share
// one; it stops, and its folder is removed, when the last of them ends. It needs dockerd and
// root: without them the test is skipped, or fails when CI=true.
func SecondDaemon(t testing.TB) string {
	t.Helper()
	second.mu.Lock()
	defer second.mu.Unlock()
	if second.users == 0 {
		host, stop, err := startDockerd(t.Context())
		if err != nil {
			if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
				t.Fatalf("CI=true and a second Docker daemon is required: %v", err)
			}
			t.Skipf("no second Docker daemon (set CI=true to make this a failure): %v", err)
		}
		second.host, second.stop = host, stop
	}
	second.users++
	t.Cleanup(func() {
		second.mu.Lock()
		defer second.mu.Unlock()
		if second.users--; second.users == 0 {
			if err := second.stop(); err != nil {
				t.Errorf("stopping the second dockerd: %v", err)
			}
			second.host, second.stop = "", nil
		}
	})
	return second.host
}

// startDockerd starts dockerd in a fresh folder of os.TempDir (short, for the sockets under its
// exec root) and waits until it answers.
func startDockerd(ctx context.Context) (string, func() error, error) {
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return "", nil, fmt.Errorf("dockerd is not installed (apt-get install docker.io): %w", err)
	}
	if os.Geteuid() != 0 {
		return "", nil, fmt.Errorf("dockerd needs root")
	}
	dir, err := os.MkdirTemp("", "shiplane-dockerd-")
	if err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o644); err != nil {
		return "", nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		return "", nil, err
	}
	host := "unix://" + filepath.Join(dir, "docker.sock")
	_, noBridge := net.InterfaceByName("docker0") // the default daemon's bridge, which must survive
	// Not CommandContext: the daemon outlives the test that started it when others share it.
	cmd := exec.Command(bin,
		"--config-file", cfg,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"-H", host,
		"--bridge=none", "--iptables=false", "--ip-masq=false")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = daemonProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		defer logFile.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return os.RemoveAll(dir)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		d, err := docker.New(wctx, docker.WithHost(host), docker.WithPingTimeout(time.Second))
		if err == nil {
			d.Close()
			if _, gone := net.InterfaceByName("docker0"); noBridge == nil && gone != nil {
				_ = stop()
				return "", nil, fmt.Errorf("starting a second dockerd removed the default daemon's docker0 bridge (%v); it must run in a network namespace of its own", gone)
			}
			return host, stop, nil
		}
		select {
		case werr := <-exited:
			exited <- werr
			log, _ := os.ReadFile(logFile.Name())
			_ = stop()
			return "", nil, fmt.Errorf("dockerd exited (%v) before answering on %s:\n%s", werr, host, tail(string(log), 2000))
		case <-wctx.Done():
			log, _ := os.ReadFile(logFile.Name())
			_ = stop()
			return "", nil, fmt.Errorf("dockerd did not answer on %s within 60s: %v\n%s", host, err, tail(string(log), 2000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// DockerConfig makes a Docker config folder (what DOCKER_CONFIG names) holding contexts (name →
// docker host), written with the docker CLI's context store, and a config.json whose
// currentContext is current ("" for none). It returns the folder.
func DockerConfig(t testing.TB, current string, contexts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	s := docker.ContextStore(dir)
	for name, host := range contexts {
		err := s.CreateOrUpdate(store.Metadata{
			Name:      name,
			Metadata:  map[string]any{"Description": "shiplane test context"},
			Endpoints: map[string]any{ctxdocker.DockerEndpoint: ctxdocker.EndpointMeta{Host: host}},
		})
		if err != nil {
			t.Fatalf("writing Docker context %s: %v", name, err)
		}
	}
	cfg := map[string]any{}
	if current != "" {
		cfg["currentContext"] = current
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
