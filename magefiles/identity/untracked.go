package identity

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Cause says why git holds no object for a path.
type Cause int

// The causes UntrackedError tells apart.
const (
	// CauseUnknown: not determined (the manifest has no Root to look in). The message lists the
	// possible causes.
	CauseUnknown Cause = iota
	// CauseMissing: the path does not exist in the work tree.
	CauseMissing
	// CauseEmpty: an empty directory; git tracks files, never directories.
	CauseEmpty
	// CauseIgnored: a file git ignores, or a directory holding only ignored files or empty
	// directories.
	CauseIgnored
	// CauseRepository: a submodule or nested repository; git records a commit of another
	// repository there, not files.
	CauseRepository
)

// UntrackedError is an input path, or a chart directory, for which git's view of the work tree
// holds no object: a key computed without it would lie, so none is computed.
type UntrackedError struct {
	// Component is the component whose input Path is; with Chart set, the chart's owner
	// (PlatformChart for the umbrella).
	Component string
	// Path is the path as the manifest lists it.
	Path string
	// Chart is set when Path is a chart directory rather than an input path.
	Chart bool
	// Cause is why git has nothing there.
	Cause Cause
}

func (e *UntrackedError) Error() string {
	what := fmt.Sprintf("component %s: input path %s", e.Component, e.Path)
	list := "paths:"
	if e.Chart {
		what = fmt.Sprintf("chart %s: directory %s", e.Component, e.Path)
		list = "the chart setting"
	}
	switch e.Cause {
	case CauseMissing:
		return fmt.Sprintf("%s does not exist; create it or correct %s", what, list)
	case CauseEmpty:
		return fmt.Sprintf("%s holds no files git tracks (it is an empty directory); add the files it stands for, or remove it from %s (an uninitialised submodule is empty too: git submodule update --init)", what, list)
	case CauseIgnored:
		return fmt.Sprintf("%s holds no files git tracks (everything in it is ignored); correct .gitignore (git check-ignore -v <file> names the rule) or git add -f the files", what)
	case CauseRepository:
		return fmt.Sprintf("%s is a git submodule or nested repository, which git records as a commit of another repository, not as files; list paths of this repository instead (vendor the files, or release that repository on its own)", what)
	}
	return fmt.Sprintf("%s holds no files git tracks: it is empty, everything in it is ignored (.gitignore), or it is a submodule or nested repository (recorded as a commit of another repository); add files, correct .gitignore, or list paths of this repository", what)
}

// untracked classifies why git holds nothing at p, looking at the work tree under root ("" when
// unknown). It reads at most one directory listing.
func untracked(root, component, p string, chart bool) *UntrackedError {
	e := &UntrackedError{Component: component, Path: p, Chart: chart}
	if root == "" {
		return e
	}
	full := filepath.Join(root, filepath.FromSlash(p))
	st, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Cause = CauseMissing
		return e
	case err != nil:
		return e
	case !st.IsDir():
		e.Cause = CauseIgnored
		return e
	}
	if _, err := os.Lstat(filepath.Join(full, ".git")); err == nil {
		e.Cause = CauseRepository
		return e
	}
	entries, err := os.ReadDir(full)
	switch {
	case err != nil:
	case len(entries) == 0:
		e.Cause = CauseEmpty
	default:
		e.Cause = CauseIgnored
	}
	return e
}
