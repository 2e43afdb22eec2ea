package version

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
)

// FileError reports a problem with a VERSION file or a Chart.yaml: where it is,
// what was found and how to fix it.
type FileError struct {
	// Path is the file as given.
	Path string
	// Line is the 1-based line of the problem, 0 when it concerns the whole
	// file.
	Line int
	// Problem says what was found.
	Problem string
	// Fix says what to change; empty when Problem already says it.
	Fix string
	// Err is the underlying error, if any (a *ParseError, an fs error, a YAML
	// error).
	Err error
}

// Error implements error.
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// ReadFile reads a VERSION file: one strict semantic version, surrounded by
// nothing but whitespace. Failures are *FileError values naming path:line and
// the fix; an invalid version also matches *ParseError, and a missing file
// fs.ErrNotExist.
func ReadFile(path string) (*semver.Version, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Problem: "cannot read version file: " + errText(err), Fix: fmt.Sprintf("create it with the component's version on one line, e.g. %s", Example), Err: err}
	}
	text := string(data)
	trimmed := strings.TrimSpace(text)
	if trimmed == "" {
		return nil, &FileError{Path: path, Line: 1, Problem: "version file is empty", Fix: fmt.Sprintf("write the component's version on one line, e.g. %s", Example)}
	}
	line := 1 + lineBreaks(text[:len(text)-len(strings.TrimLeftFunc(text, unicode.IsSpace))])
	if i := strings.IndexAny(trimmed, "\r\n"); i >= 0 {
		after := trimmed[i:]
		rest := strings.TrimLeftFunc(after, unicode.IsSpace)
		extra := line + lineBreaks(trimmed[:i+len(after)-len(rest)])
		return nil, &FileError{Path: path, Line: extra, Problem: fmt.Sprintf("unexpected second line %q after the version", firstLine(rest)), Fix: fmt.Sprintf("keep only the version, on one line, e.g. %s", Example)}
	}
	v, err := Parse(trimmed)
	if err != nil {
		return nil, &FileError{Path: path, Line: line, Problem: err.Error(), Err: err}
	}
	return v, nil
}

// WriteFile writes v and a newline to path atomically, keeping the file's
// mode (0644 for a new file). A symbolic link is followed, not replaced.
func WriteFile(path string, v *semver.Version) error {
	if v == nil {
		return fmt.Errorf("writing %s: %w", path, ErrNilVersion)
	}
	if err := writeAtomic(path, []byte(v.String()+"\n")); err != nil {
		return fmt.Errorf("writing version %s to %s: %w", v, path, err)
	}
	return nil
}

// syncFile flushes a file to stable storage; the fuzz tests replace it with a
// no-op, as an fsync per input would leave them measuring the disk.
var syncFile = (*os.File).Sync

// writeAtomic replaces path with data through a synced temporary file in the
// same directory and a rename, so readers see the old or the new content,
// never a mix.
func writeAtomic(path string, data []byte) (err error) {
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("resolving %s: %w", path, err)
	}
	mode := fs.FileMode(0o644)
	if info, err := os.Stat(target); err == nil {
		mode = info.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("inspecting %s: %w", target, err)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing temporary file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("setting mode of %s: %w", tmp.Name(), err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("replacing %s: %w", target, err)
	}
	return nil
}

// lineBreaks counts line breaks, a CRLF pair counting once.
func lineBreaks(s string) int {
	return strings.Count(s, "\n") + strings.Count(s, "\r") - strings.Count(s, "\r\n")
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// errText is err's message without the path prefix that fs errors carry.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
