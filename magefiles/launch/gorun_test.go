//go:build unix

package launch

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGoRunMageTwoCallsAtOnce is the README's dev block as a user pastes it, on this checkout and
// an empty binary cache: `go run mage.go localRegistry &` and, at once, another call
// (`go run mage.go -l`). Both succeed, the targets compile once, and Ctrl-C (SIGINT to the
// process group, as a terminal sends it) stops the registry through the target's own cleanup.
// It compiles the real targets once (about a minute on 2 idle cores).
func TestGoRunMageTwoCallsAtOnce(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	env := append(os.Environ(), "SHIPLANE_BIN_CACHE="+cache, "CGO_ENABLED=0",
		"LOCAL_REGISTRY_ADDR=127.0.0.1:0", "LOCAL_REGISTRY_DIR="+t.TempDir())

	reg := exec.Command("go", "run", "mage.go", "localRegistry")
	reg.Dir, reg.Env = root, env
	reg.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var regErr syncBuffer
	reg.Stderr = &regErr
	if err := reg.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-reg.Process.Pid, syscall.SIGKILL)
			_ = reg.Wait()
		}
	})

	list := exec.Command("go", "run", "mage.go", "-l")
	list.Dir, list.Env = root, env
	var listOut, listErr bytes.Buffer
	list.Stdout, list.Stderr = &listOut, &listErr
	if err := list.Run(); err != nil {
		t.Fatalf("go run mage.go -l beside localRegistry: %v\n%s", err, listErr.String())
	}
	if !strings.Contains(listOut.String(), "buildAllLocal") || !strings.Contains(listOut.String(), "localRegistry") {
		t.Errorf("go run mage.go -l listed:\n%s", listOut.String())
	}

	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(regErr.String(), "local registry ready on ") {
		if time.Now().After(deadline) {
			t.Fatalf("localRegistry did not start within 5 minutes:\n%s", regErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := strings.Count(regErr.String()+listErr.String(), CompilingMessage); n != 1 {
		t.Errorf("%d compile messages for two calls on an empty cache, want 1:\n%s\n%s", n, regErr.String(), listErr.String())
	}
	if _, err := os.Stat(filepath.Join(root, "magefiles", mainFileName)); !os.IsNotExist(err) {
		t.Errorf("%s appeared in magefiles/ (%v)", mainFileName, err)
	}

	if err := syscall.Kill(-reg.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- reg.Wait() }()
	select {
	case err := <-done:
		stopped = true
		// go run itself exits 1 after an interrupt whatever its program returned (a plain program
		// that exits 0 on SIGINT gives the same), so the target's own lines are what tell.
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
			t.Errorf("localRegistry after Ctrl-C: %v\n%s", err, regErr.String())
		}
		if !strings.Contains(regErr.String(), "local registry: stopped") || strings.Contains(regErr.String(), "Error:") {
			t.Errorf("localRegistry did not stop cleanly on Ctrl-C:\n%s", regErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("localRegistry did not stop within 30 s of Ctrl-C:\n%s", regErr.String())
	}
}
