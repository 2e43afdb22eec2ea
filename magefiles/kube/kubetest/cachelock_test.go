package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// The cache lock binaries takes (flock.New + TryLockContext) is what lets parallel test binaries
// build kube-apiserver and etcd once. These tests prove the properties it relies on: a second
// holder, in this process or another, waits until the first unlocks; its wait ends with ctx; and a
// holder that dies without unlocking leaves no stale lock.

// lockHelperEnv, when set to a lock path, turns the test binary into lockHelper (see TestMain).
const lockHelperEnv = "KUBETEST_LOCK_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockHelperEnv); path != "" {
		os.Exit(lockHelper(path, os.Getenv(lockHelperEnv+"_MODE")))
	}
	os.Exit(m.Run())
}

// lockHelper runs in a child process. Mode "wait" tries for 300ms to take the lock on path and
// prints "locked" or "busy"; mode "die" takes it and exits without unlocking.
func lockHelper(path, mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	lock := flock.New(path)
	_, err := lock.TryLockContext(ctx, lockPoll)
	switch {
	case err == nil && mode == "die":
		fmt.Println("locked")
		return 0 // exits holding the lock
	case err == nil:
		fmt.Println("locked")
		_ = lock.Unlock()
		return 0
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Println("busy")
		return 0
	default:
		fmt.Println(err)
		return 1
	}
}

// inChild runs lockHelper on path in a new process and returns what it printed.
func inChild(t *testing.T, path, mode string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path, lockHelperEnv+"_MODE="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("lock helper (%s): %v\n%s", mode, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestCacheLockExcludesAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	held := flock.New(path)
	if _, err := held.TryLockContext(t.Context(), lockPoll); err != nil {
		t.Fatal(err)
	}
	if got := inChild(t, path, "wait"); got != "busy" {
		t.Fatalf("another process while the lock is held: %q, want busy", got)
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := inChild(t, path, "wait"); got != "locked" {
		t.Fatalf("another process after unlock: %q, want locked", got)
	}
}

func TestCacheLockExcludesAnotherHolderInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	held := flock.New(path)
	if _, err := held.TryLockContext(t.Context(), lockPoll); err != nil {
		t.Fatal(err)
	}

	second := flock.New(path) // a second open of the file, as another goroutine would make
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := second.TryLockContext(ctx, lockPoll); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder while held: %v, want context.DeadlineExceeded", err)
	}

	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := second.TryLockContext(t.Context(), lockPoll); err != nil {
		t.Fatalf("second holder after unlock: %v", err)
	}
	if err := second.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestCacheLockOfADeadProcessIsFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	if got := inChild(t, path, "die"); got != "locked" {
		t.Fatalf("child taking the lock: %q, want locked", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	lock := flock.New(path)
	if _, err := lock.TryLockContext(ctx, lockPoll); err != nil {
		t.Fatalf("taking the lock its dead holder never released: %v", err)
	}
	_ = lock.Unlock()
}
