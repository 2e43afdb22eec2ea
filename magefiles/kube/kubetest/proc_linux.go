package kubetest

import "syscall"

// sysProcAttr kills the servers if the test binary dies without cleaning up
// (a panic or a -timeout), so they do not outlive it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
