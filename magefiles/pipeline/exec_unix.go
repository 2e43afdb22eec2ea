//go:build unix

package pipeline

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts the command in its own process group and kills the whole group when
// the context is cancelled, so a test binary started by go test does not outlive the release.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
