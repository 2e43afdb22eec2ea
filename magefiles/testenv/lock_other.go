//go:build !unix

package testenv

import "context"

// lock is a no-op where flock does not exist: test processes may then build the shared images
// at the same time, which the build goals tolerate (the last build's tags win).
func lock(context.Context, string) (func(), error) { return func() {}, nil }
