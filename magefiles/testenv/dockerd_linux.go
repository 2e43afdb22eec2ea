package testenv

import "syscall"

// daemonProcAttr stops the second dockerd when the test process dies without cleaning up.
func daemonProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
