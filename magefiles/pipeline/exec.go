package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"time"
)

// waitDelay is how long a cancelled command's output pipes stay open after it is killed, for
// grandchildren that keep them (go test's test binaries).
const waitDelay = 10 * time.Second

// shellCommand returns the command line that runs a script: bash when it is on PATH
// ("bash --noprofile --norc -eo pipefail -c"), else "sh -ec". Both stop at the first failing
// command of a multi-line script; bash also fails a pipeline when any part of it fails.
func shellCommand() []string {
	if p, err := exec.LookPath("bash"); err == nil {
		return []string{p, "--noprofile", "--norc", "-eo", "pipefail", "-c"}
	}
	return []string{"sh", "-ec"}
}

// command prepares argv to run in dir with environ; cancelling ctx kills its whole process group.
func command(ctx context.Context, argv []string, dir string, environ []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = environ
	cmd.WaitDelay = waitDelay
	killGroupOnCancel(cmd)
	return cmd
}

// output runs argv and returns its stdout with trailing newlines removed (as the shell's $(…)
// does). display names the command in errors; errors are *CommandError, with display and stderr
// masked by red.
func output(ctx context.Context, argv []string, stdin io.Reader, dir string, environ []string, display string, red *Redactor) (string, error) {
	cmd := command(ctx, argv, dir, environ)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", commandError(ctx, red.String(display), err, red.String(stderr.String()))
	}
	return strings.TrimRight(stdout.String(), "\r\n"), nil
}

// commandError classifies a failed run: a cancelled context wins over the kill it caused.
func commandError(ctx context.Context, display string, err error, stderr string) *CommandError {
	ce := &CommandError{Command: display, ExitCode: -1, Stderr: tail(stderr), Err: err}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		ce.Err = ctx.Err()
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		ce.ExitCode = ee.ExitCode()
	}
	return ce
}

// tail keeps the last lines of a command's stderr for an error message, on one line.
func tail(s string) string {
	const maxLines, maxBytes = 5, 600
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	out := strings.Join(lines, " | ")
	if len(out) > maxBytes {
		out = "…" + out[len(out)-maxBytes:]
	}
	return out
}
