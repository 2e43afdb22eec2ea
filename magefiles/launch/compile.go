package launch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/magefile/mage/mage"
)

// mainFileName is the file mage generates beside the magefiles to compile them.
const mainFileName = "mage_output_file.go"

// exeSuffix is the executable suffix of the host.
var exeSuffix = func() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}()

// compile builds the targets into bin (inside entry), atomically: the binary appears complete or
// not at all.
//
// mage compiles by generating mage_output_file.go beside the magefiles and removing it afterwards,
// which is what made two calls in one checkout race. Here the top-level magefiles are copied into
// a private folder inside the module (.shiplane/launch-*/magefiles, so the module's go.mod still
// applies; .shiplane/ is ignored by git) and mage generates and compiles there.
func (l *Launcher) compile(ctx context.Context, entry, bin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	work, err := l.copyMagefiles()
	if err != nil {
		return err
	}
	defer func() {
		_ = os.RemoveAll(filepath.Dir(work))
		_ = os.Remove(filepath.Join(l.root, ".shiplane")) // only when empty
	}()

	tmp, err := os.MkdirTemp(l.cache, "tmp-")
	if err != nil {
		return fmt.Errorf("creating a temporary folder in %s: %w", l.cache, err)
	}
	defer os.RemoveAll(tmp)
	// The file name is the program name mage's usage lines show.
	out := filepath.Join(tmp, "mage"+exeSuffix)

	var output bytes.Buffer
	code := mage.Invoke(mage.Invocation{
		Dir:        work,
		CompileOut: out,
		GoCmd:      l.goCmd,
		Stdout:     &output,
		Stderr:     &output,
		Stdin:      bytes.NewReader(nil),
		HashFast:   true,
	})
	if code != 0 {
		return &CompileError{Output: compilerOutput(output.String()), Err: fmt.Errorf("mage exited with %d", code)}
	}
	if err := os.MkdirAll(entry, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", entry, err)
	}
	if err := os.Rename(out, bin); err != nil {
		return fmt.Errorf("keeping the compiled targets in %s: %w", entry, err)
	}
	return nil
}

// compilerOutput drops the line mage adds after the compiler's own errors, so the errors are
// printed once and nothing else is.
func compilerOutput(s string) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if line == "Error: error compiling magefiles" {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// copyMagefiles copies the top-level .go files of magefiles/ (the package mage compiles; its
// subpackages are imported by path and stay where they are) into a new folder
// <root>/.shiplane/launch-*/magefiles and returns that folder.
func (l *Launcher) copyMagefiles() (string, error) {
	parent := filepath.Join(l.root, ".shiplane")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", parent, err)
	}
	dir, err := os.MkdirTemp(parent, "launch-")
	if err != nil {
		return "", fmt.Errorf("creating a folder to compile the targets in: %w", err)
	}
	work := filepath.Join(dir, "magefiles")
	if err := os.Mkdir(work, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("creating a folder to compile the targets in: %w", err)
	}
	src := filepath.Join(l.root, "magefiles")
	ents, err := os.ReadDir(src)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("reading %s: %w", src, err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || name == mainFileName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("copying the magefiles: %w", err)
		}
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("copying the magefiles: %w", err)
		}
		n++
	}
	if n == 0 {
		os.RemoveAll(dir)
		return "", errors.New("no .go file in " + src)
	}
	return work, nil
}
