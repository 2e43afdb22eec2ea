package testenv

import "syscall"

// daemonProcAttr starts the second dockerd in a network namespace of its own, and stops it when
// the test process dies without cleaning up. The namespace matters: a dockerd started with
// --bridge=none deletes the host's docker0 interface at start-up (moby's
// removeDefaultBridgeInterface), which would cut the default daemon's containers off their
// network. Its socket is a file, so it is reached from the host's namespace all the same.
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Cloneflags: syscall.CLONE_NEWNET}
}
