//go:build !unix

package launch

import (
	"context"
	"fmt"
	"time"

	"github.com/gofrs/flock"
)

// lockFile takes an exclusive lock on path (created if missing), calling waiting once first when
// another process holds it, and returns the function that releases it.
func lockFile(path string, waiting func()) (func(), error) {
	l := flock.New(path)
	ok, err := l.TryLock()
	if err == nil && !ok {
		waiting()
		ok, err = l.TryLockContext(context.Background(), 200*time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("locking %s: not acquired", path)
	}
	return func() { _ = l.Unlock() }, nil
}
