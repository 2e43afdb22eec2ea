//go:build unix

package launch

import (
	"fmt"
	"os"
	"syscall"
)

// run replaces this process with bin: the binary gets this process's id, its signals (Ctrl-C
// reaches it as it reaches any program) and its exit code goes to whoever waits for this process.
// It returns only when the exec failed.
func run(bin string, args, env []string) (int, error) {
	err := syscall.Exec(bin, append([]string{bin}, args...), env)
	return 1, fmt.Errorf("starting %s: %w", bin, os.NewSyscallError("exec", err))
}
