package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// Binary is one Go program to compile into a build context.
type Binary struct {
	// Dir is the directory the compiler runs in: the module root Main is relative to.
	Dir string
	// Main is the main package ("./services/core/cmd/core").
	Main string
	// Output is the file to write (<context>/bin/<binary>).
	Output string
	// Version is stamped into the program as main.version.
	Version string
}

// Compiler turns a main package into a binary, streaming its output to progress.
type Compiler interface {
	Compile(ctx context.Context, b Binary, progress io.Writer) error
}

// GoCompiler compiles with the go command: a static (CGO_ENABLED=0), trimmed, stripped binary.
type GoCompiler struct {
	goCmd string
	env   []string
}

var _ Compiler = (*GoCompiler)(nil)

// CompilerOption configures a GoCompiler.
type CompilerOption func(*GoCompiler)

// WithGo sets the go command to run. Default: "go" from PATH.
func WithGo(path string) CompilerOption {
	return func(g *GoCompiler) {
		if path != "" {
			g.goCmd = path
		}
	}
}

// WithCompileEnv adds KEY=VALUE pairs to the compiler's environment (GOOS, GOARCH, GOFLAGS…).
// Default: the process environment, with CGO_ENABLED=0.
func WithCompileEnv(kv ...string) CompilerOption {
	return func(g *GoCompiler) { g.env = append(g.env, kv...) }
}

// NewGoCompiler returns a compiler that runs
// `go build -trimpath -ldflags "-s -w -X main.version=<version>" -o <output> <main>`.
func NewGoCompiler(opts ...CompilerOption) *GoCompiler {
	g := &GoCompiler{goCmd: "go"}
	for _, o := range opts {
		o(g)
	}
	return g
}

// CompileError is a main package that did not compile.
type CompileError struct {
	Main string
	// Output is the tail of what the compiler printed.
	Output string
	Err    error
}

func (e *CompileError) Error() string {
	out := strings.TrimSpace(e.Output)
	if out == "" {
		return fmt.Sprintf("go build %s: %v", e.Main, e.Err)
	}
	return fmt.Sprintf("go build %s: %v:\n%s", e.Main, e.Err, out)
}

func (e *CompileError) Unwrap() error { return e.Err }

// Compile runs go build in b.Dir.
func (g *GoCompiler) Compile(ctx context.Context, b Binary, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	args := []string{"build", "-trimpath", "-ldflags", "-s -w -X main.version=" + b.Version, "-o", b.Output, b.Main}
	fmt.Fprintf(progress, "go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, g.goCmd, args...)
	cmd.Dir = b.Dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), g.env...)
	tail := &tailBuffer{max: 8 << 10}
	w := io.MultiWriter(progress, tail)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("go build %s: %w", b.Main, ctx.Err())
		}
		return &CompileError{Main: b.Main, Output: tail.String(), Err: err}
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
