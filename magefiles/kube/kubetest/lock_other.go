//go:build !unix

package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// staleLock is how old a lock file must be before it is taken to belong to a
// dead process; a cold build takes minutes, never this long.
const staleLock = 30 * time.Minute

// lock creates path exclusively, waiting until ctx ends, and treats a lock
// file older than staleLock as abandoned.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			_ = os.Remove(path)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
