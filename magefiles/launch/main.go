package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/magefile/mage/mage"
)

// Main is mage.go's main: `go run mage.go [flags] <target> [args]`. It runs the checkout's compiled
// targets (compiling them first when they changed) with the arguments, and returns the exit code
// when it could not hand over to them.
//
// The flags the compiled targets understand pass through: -v (mg.Verbose), -l, -h and -t. Two are
// the launcher's: -f compiles again even when a binary is kept, and -compile PATH copies the
// binary to PATH instead of running it. Any other mage flag (-d, -w, -debug, -keep, -gocmd,
// -goos, -goarch, -ldflags, -clean, -init, -version, …) hands the whole call to mage itself,
// which compiles in the checkout as it always did (two such calls at once can race).
//
// The working directory must be the repository root, as for mage.
func Main() int {
	args := os.Args[1:]
	p, ok := parseArgs(args)
	if !ok {
		return mage.ParseAndRun(os.Stdout, os.Stderr, os.Stdin, args)
	}
	l, err := New(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "shiplane:", err)
		return 1
	}
	return l.main(context.Background(), p)
}

// call is a parsed command line.
type call struct {
	args    []string // what the compiled targets get
	force   bool     // -f
	compile string   // -compile PATH
}

// parseArgs splits the launcher's own flags from the rest; ok is false when a flag only mage
// itself knows comes before the target.
func parseArgs(args []string) (c call, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			for _, t := range args[i:] {
				c.args = append(c.args, optionName(t))
			}
			return c, true
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "v", "l", "h":
			c.args = append(c.args, a)
		case "t":
			c.args = append(c.args, a)
			if !hasValue && i+1 < len(args) {
				i++
				c.args = append(c.args, args[i])
			}
		case "f":
			c.force = !hasValue || value == "true" || value == "1"
		case "compile":
			if !hasValue {
				if i+1 >= len(args) {
					return c, false // mage says what is missing
				}
				i++
				value = args[i]
			}
			c.compile = value
		default:
			return c, false
		}
	}
	return c, true
}

// optionName drops the dashes inside a target option's name (-certificate-identity=X becomes
// -certificateidentity=X), which mage's option names, Go parameter names matched without case,
// cannot have: the dashed names other tools use (cosign's) work too. The value is kept as is.
func optionName(a string) string {
	name, value, ok := strings.Cut(a, "=")
	if !ok || !strings.HasPrefix(name, "-") || strings.HasPrefix(name, "--") || !strings.Contains(name[1:], "-") {
		return a
	}
	return "-" + strings.ReplaceAll(name[1:], "-", "") + "=" + value
}

func (l *Launcher) main(ctx context.Context, c call) int {
	bin, err := l.Binary(ctx, c.force)
	if err != nil {
		var ce *CompileError
		if errors.As(err, &ce) {
			if ce.Output != "" {
				fmt.Fprintln(l.stderr, ce.Output)
			}
			fmt.Fprintln(l.stderr, "shiplane: the targets do not compile (the compiler's errors are above)")
			return 1
		}
		fmt.Fprintln(l.stderr, "shiplane:", err)
		return 1
	}
	if c.compile != "" {
		if len(c.args) > 0 {
			fmt.Fprintf(l.stderr, "shiplane: -compile takes no target, got %q\n", c.args)
			return 2
		}
		if err := copyFile(bin, c.compile); err != nil {
			fmt.Fprintln(l.stderr, "shiplane:", err)
			return 1
		}
		return 0
	}
	code, err := run(bin, c.args, os.Environ())
	if errors.Is(err, fs.ErrNotExist) {
		// Another checkout's compile pruned this entry between the look-up and the start.
		if bin, err = l.Binary(ctx, false); err == nil {
			code, err = run(bin, c.args, os.Environ())
		}
	}
	if err != nil {
		fmt.Fprintln(l.stderr, "shiplane:", err)
	}
	return code
}

// copyFile copies the binary src to dst (executable), through a temporary file beside dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying the compiled targets: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".shiplane-compile-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}
