package registry_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/registry"
)

// TestReachableWaitsForALoopbackRegistryStartedLate: `localRegistry &` then pushAllDev at once
// finds nothing listening yet; with WaitForLoopback the check waits for the listener (and says so
// once), without it the refusal is an UnreachableError at once.
func TestReachableWaitsForALoopbackRegistryStartedLate(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	var ue *registry.UnreachableError
	if err := registry.Reachable(t.Context(), addr+"/dev"); !errors.As(err, &ue) {
		t.Fatalf("Reachable without waiting = %v, want an UnreachableError", err)
	}

	started := make(chan net.Listener, 1)
	go func() {
		time.Sleep(600 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
		}
		started <- l
	}()
	waits := 0
	err = registry.Reachable(t.Context(), addr+"/dev", registry.WaitForLoopback(10*time.Second, func() { waits++ }))
	if l := <-started; l != nil {
		defer l.Close()
	}
	if err != nil || waits != 1 {
		t.Fatalf("Reachable with WaitForLoopback = %v after %d waiting notes, want nil after 1", err, waits)
	}

	start := time.Now()
	if err := registry.Reachable(t.Context(), "127.0.0.1:1/dev", registry.WaitForLoopback(500*time.Millisecond, nil)); !errors.As(err, &ue) || time.Since(start) > 5*time.Second {
		t.Fatalf("Reachable of a port nobody opens = %v after %s, want an UnreachableError after the wait", err, time.Since(start))
	}
}
