package pipeline

import (
	"fmt"

	"github.com/shiplane/shiplane/magefiles/diag"
)

// Error is one problem with the release file: where it is, what is wrong and how to fix it. Its
// text passes through the pipeline's Redactor every time it is rendered, so a secret registered
// after the error was made is still hidden.
type Error struct {
	// File is the release file as given to Load.
	File string
	// Line is the 1-based line of the problem, or 0 when it is about the whole file.
	Line int
	// Var names the var the problem is in, or "".
	Var string
	// Goal names the goal the problem is in, or "".
	Goal string
	// Section is the goal's section when it is not verify ("after_publish"), or "".
	Section string
	// Problem says what is wrong.
	Problem string
	// Fix says how to correct it, or "".
	Fix string
	// Err is the cause (a *CommandError, fs.ErrNotExist, …), or nil; errors.Is/As reach it.
	Err error

	red *Redactor
}

func (e *Error) Error() string {
	scope := ""
	switch {
	case e.Goal != "":
		section := e.Section
		if section == "" {
			section = SectionVerify
		}
		scope = fmt.Sprintf("%s goal %q", section, e.Goal)
	case e.Var != "":
		scope = fmt.Sprintf("var %q", e.Var)
	}
	return e.red.String(diag.Format(e.File, e.Line, scope, e.Problem, e.Err, e.Fix))
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Location is where the problem is: the release file and the 1-based line (0: the whole file).
func (e *Error) Location() (file string, line int) { return e.File, e.Line }

// Errors is every problem found in one release file, in the order found (file order for
// validation problems).
type Errors []*Error

func (es Errors) Error() string { return diag.Lines(es) }

// Unwrap lets errors.Is/As reach each *Error.
func (es Errors) Unwrap() []error { return diag.Unwrap(es) }

// CommandError is a command that did not succeed: a sh! reference, a gpg decryption or a shell
// goal. Command and Stderr are already redacted with the secrets known when it failed.
type CommandError struct {
	// Command is what ran ("gpg --batch --quiet --decrypt", or the sh! command), or "" when the
	// error is about a shell goal whose script is in the release file.
	Command string
	// ExitCode is the exit status, or -1 when the command did not exit normally (killed by a
	// signal, or never started).
	ExitCode int
	// Stderr is the end of what the command wrote to stderr (at most a few lines), or "".
	Stderr string
	// Err is the underlying error (*exec.ExitError, exec.ErrNotFound, …).
	Err error
}

func (e *CommandError) Error() string {
	what := "the run: script"
	if e.Command != "" {
		what = fmt.Sprintf("command %q", e.Command)
	}
	var msg string
	if e.ExitCode >= 0 {
		msg = fmt.Sprintf("%s exited with status %d", what, e.ExitCode)
	} else {
		msg = fmt.Sprintf("%s failed: %v", what, e.Err)
	}
	if e.Stderr != "" {
		msg += "; stderr: " + e.Stderr
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *CommandError) Unwrap() error { return e.Err }

// GoalError is a verify goal that failed: where it is defined and why. Like Error, its text is
// redacted whenever it is rendered, so report reasons never carry a secret.
type GoalError struct {
	// Goal is the goal's name.
	Goal string
	// File and Line locate the goal in the release file.
	File string
	Line int
	// Err is what the goal's kind returned.
	Err error

	red *Redactor
}

func (e *GoalError) Error() string {
	return e.red.String(fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err))
}

// Unwrap returns what the goal's kind returned.
func (e *GoalError) Unwrap() error { return e.Err }

// Location is where the failed goal is defined: the release file and its line.
func (e *GoalError) Location() (file string, line int) { return e.File, e.Line }
