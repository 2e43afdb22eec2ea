//go:build !linux

package testenv

import "syscall"

// daemonProcAttr has nothing to add where the kernel cannot signal an orphan.
func daemonProcAttr() *syscall.SysProcAttr { return nil }
