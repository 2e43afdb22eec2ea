package goal

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
)

// PanicError is a goal whose Assess or Achieve panicked (a library choking on an odd registry
// answer, say). The engine recovers the panic and fails that goal with a *PanicError: the goals
// that do not depend on it still run, its dependents are blocked, and the report is still written.
//
// Its Error is the one-line [PanicError.Reason] followed by a short excerpt of the stack; a
// Result's Reason (and so the JSON report) holds only the one line. When the panic value is an
// error (a runtime.Error such as an index out of range, or panic(err)), Unwrap returns it.
type PanicError struct {
	// Goal names the goal that panicked (its String).
	Goal string
	// Op is what the engine was doing: "assessing" or "achieving".
	Op string
	// Value is what was passed to panic.
	Value any
	// Stack is a short excerpt of the panicking goroutine's stack, innermost call first, one
	// "function (file:line)" per line, from where the panic was raised up to the engine.
	Stack string
}

// Reason is the one line a report shows: `goal "image pushed …" panicked while assessing: …`.
func (e *PanicError) Reason() string {
	return fmt.Sprintf("goal %q panicked while %s: %v", e.Goal, e.Op, e.Value)
}

func (e *PanicError) Error() string {
	if e.Stack == "" {
		return e.Reason()
	}
	return e.Reason() + "\n" + indent(e.Stack, "\t")
}

// Unwrap returns the panic value when it is an error, or nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// assess calls g.Assess, turning a panic into a *PanicError.
func assess(ctx context.Context, g Goal) (st State, err error) {
	defer recoverInto(g, "assessing", &err)
	return g.Assess(ctx)
}

// achieve calls g.Achieve, turning a panic into a *PanicError.
func achieve(ctx context.Context, g Goal) (err error) {
	defer recoverInto(g, "achieving", &err)
	return g.Achieve(ctx)
}

// recoverInto, deferred directly, recovers a panic and stores it in *err as a *PanicError.
func recoverInto(g Goal, op string, err *error) {
	v := recover()
	if v == nil {
		return
	}
	*err = &PanicError{Goal: safeName(g), Op: op, Value: v, Stack: panicStack()}
}

// safeName is g.String(), or g's type when String panics too.
func safeName(g Goal) (name string) {
	defer func() {
		if recover() != nil {
			name = fmt.Sprintf("%T", g)
		}
	}()
	return g.String()
}

// maxPanicFrames bounds the stack excerpt a PanicError carries.
const maxPanicFrames = 8

// enginePkg prefixes the functions of this package in a stack ("…/magefiles/goal."): the excerpt
// stops there, at the engine that called the goal.
var enginePkg = reflect.TypeFor[Engine]().PkgPath() + "."

// panicStack, called from the deferred recoverInto, returns the frames from where the panic was
// raised up to the engine's call into the goal, without the runtime's own panic frames.
func panicStack() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs) // skip runtime.Callers, panicStack, recoverInto
	frames := runtime.CallersFrames(pcs[:n])
	var lines []string
	afterPanic := false
	for {
		f, more := frames.Next()
		switch {
		case !afterPanic:
			// Everything up to runtime.gopanic is the recovery itself.
			afterPanic = f.Function == "runtime.gopanic"
		case strings.HasPrefix(f.Function, "runtime."):
			// runtime.panicIndex and the like: how the runtime raised it, not where.
		case strings.HasPrefix(f.Function, enginePkg):
			return strings.Join(lines, "\n")
		default:
			lines = append(lines, fmt.Sprintf("%s (%s:%d)", f.Function, filepath.Base(f.File), f.Line))
			if len(lines) == maxPanicFrames {
				return strings.Join(append(lines, "…"), "\n")
			}
		}
		if !more {
			return strings.Join(lines, "\n")
		}
	}
}

// reason is the one-line text of an error for a Result's Reason: a *PanicError's Reason, without
// its stack; any other error's Error.
func reason(err error) string {
	if pe, ok := err.(*PanicError); ok {
		return pe.Reason()
	}
	return err.Error()
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
