//go:build !unix

package pipeline

import "os/exec"

// killGroupOnCancel leaves the default: cancelling kills the command itself.
func killGroupOnCancel(*exec.Cmd) {}
