//go:build !unix

package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Lock takes an exclusive lock on path, waiting until it is free or ctx ends. Call unlock to
// release it. Without flock, path is created exclusively (holding the owner's pid) and removed
// by unlock; a lock file older than 30 minutes is taken to belong to a dead process and removed.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("creating lock %s: %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleAge {
			_ = os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(poll):
		}
	}
}
