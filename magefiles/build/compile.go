package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/shiplane/shiplane/magefiles/platform"
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
	// Platform is the platform to compile for: GOOS, GOARCH and GOARM (arm variants) or GOAMD64
	// (amd64 variants) come from it. Default: the zero platform, GOOS=linux and the go command's
	// own GOARCH.
	Platform platform.Platform
}

// Compiler turns a main package into a binary, streaming its output to progress. A compiler that
// wrote its output to progress says so in its error (CompileError.Shown), so the message is not
// repeated.
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

// WithCompileEnv adds KEY=VALUE pairs to the compiler's environment (GOFLAGS, GOPROXY…). The
// target's GOOS, GOARCH, GOARM and GOAMD64 come from Binary.Platform and override these.
// Default: the process environment, with CGO_ENABLED=0 and GOOS=linux.
func WithCompileEnv(kv ...string) CompilerOption {
	return func(g *GoCompiler) { g.env = append(g.env, kv...) }
}

// NewGoCompiler returns a compiler that runs
// `go build -trimpath -ldflags "-s -w -X main.version=<version>" -o <output> <main>` for Linux
// (the images are Linux images, whatever the host), on the binary's platform.
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
	// Shown says Output was written to the compiler's progress writer already: the error's text
	// then leaves it out and says it is above, so a compile error is printed once.
	Shown bool
	Err   error
}

func (e *CompileError) Error() string {
	out := strings.TrimSpace(e.Output)
	switch {
	case out == "":
		return fmt.Sprintf("go build %s: %v", e.Main, e.Err)
	case e.Shown:
		return fmt.Sprintf("go build %s: %v (the compiler's output is above)", e.Main, e.Err)
	}
	return fmt.Sprintf("go build %s: %v:\n%s", e.Main, e.Err, out)
}

func (e *CompileError) Unwrap() error { return e.Err }

// Compile runs go build in b.Dir, writing the command and the compiler's output to progress (nil
// or io.Discard: the output is kept only in the error).
func (g *GoCompiler) Compile(ctx context.Context, b Binary, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	shown := progress != io.Discard
	args := []string{"build", "-trimpath", "-ldflags", "-s -w -X main.version=" + b.Version, "-o", b.Output, b.Main}
	fmt.Fprintf(progress, "go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, g.goCmd, args...)
	cmd.Dir = b.Dir
	cmd.Env = CompileEnv(os.Environ(), g.env, b.Platform)
	tail := &tailBuffer{max: 8 << 10}
	w := io.MultiWriter(progress, tail)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("go build %s: %w", b.Main, ctx.Err())
		}
		return &CompileError{Main: b.Main, Output: tail.String(), Shown: shown, Err: err}
	}
	return nil
}

// CompileEnv is the go command's environment for compiling to p: base (the process
// environment), CGO_ENABLED=0, extra, then GOOS=linux and p's GOARCH and GOARM or GOAMD64. The
// target's variables are removed from base and extra first, so a host's GOARM or GOAMD64 never
// reaches another architecture's build; the zero platform sets (and removes) only GOOS.
func CompileEnv(base, extra []string, p platform.Platform) []string {
	target := p.GoEnv()
	owned := map[string]bool{"GOOS": true}
	if p.IsZero() {
		target = []string{"GOOS=linux"}
	} else {
		for _, k := range []string{"GOARCH", "GOARM", "GOAMD64", "GOARM64", "GO386"} {
			owned[k] = true
		}
	}
	keep := func(env []string, drop map[string]bool) []string {
		var out []string
		for _, kv := range env {
			if k, _, _ := strings.Cut(kv, "="); !drop[k] {
				out = append(out, kv)
			}
		}
		return out
	}
	baseDrop := map[string]bool{"CGO_ENABLED": true}
	for k := range owned {
		baseDrop[k] = true
	}
	env := append(keep(base, baseDrop), "CGO_ENABLED=0")
	env = append(env, keep(extra, owned)...)
	return append(env, target...)
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
