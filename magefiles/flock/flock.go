// Package flock is an exclusive lock between processes, held on a file: the test helpers take it
// so that parallel test binaries build a shared cache (kube-apiserver and etcd, the platform
// images) once.
package flock

import "time"

// poll is how often a waiting Lock tries again.
const poll = 200 * time.Millisecond

// staleAge is, where flock does not exist, how old a lock file must be before it is taken to
// belong to a dead process; what the callers guard takes minutes, never this long.
const staleAge = 30 * time.Minute
