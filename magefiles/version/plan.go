package version

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/Masterminds/semver/v3"
)

// Edit is a checked change to one file: computed in memory from the file's
// current content and verified, but not yet written. Plan every edit of a
// change first and apply them only when all planned, and a file that cannot
// be edited leaves every file as it was (ApplyAll).
type Edit struct {
	// Path is the file the edit rewrites.
	Path string

	old, new []byte
	existed  bool
	applied  bool
}

// PlanFile plans writing v and a newline to the VERSION file at path (which
// need not exist), as WriteFile does.
func PlanFile(path string, v *semver.Version) (*Edit, error) {
	if v == nil {
		return nil, fmt.Errorf("writing %s: %w", path, ErrNilVersion)
	}
	old, err := os.ReadFile(path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &FileError{Path: path, Problem: "cannot read version file: " + errText(err), Fix: "check the file's permissions", Err: err}
	}
	return &Edit{Path: path, old: old, new: []byte(v.String() + "\n"), existed: existed}, nil
}

// Changed reports whether applying the edit changes the file.
func (e *Edit) Changed() bool { return !e.existed || !bytes.Equal(e.old, e.new) }

// Apply writes the edit atomically (see WriteFile), and nothing when it
// changes nothing. It refuses, with a *FileError, a file whose content is no
// longer what the edit was planned from: something else wrote it meanwhile, or
// an earlier edit of the same change did.
func (e *Edit) Apply() error {
	cur, err := os.ReadFile(e.Path)
	switch {
	case err != nil && !(errors.Is(err, fs.ErrNotExist) && !e.existed):
		return &FileError{Path: e.Path, Problem: "cannot read the file before writing it: " + errText(err), Fix: "check the file and run again", Err: err}
	case err == nil && (!e.existed || !bytes.Equal(cur, e.old)):
		return &FileError{Path: e.Path, Problem: "the file changed after its edit was planned", Fix: "run again; if two edits name the same file, make them one"}
	}
	if !e.Changed() {
		return nil
	}
	if err := writeAtomic(e.Path, e.new); err != nil {
		return fmt.Errorf("writing %s: %w", e.Path, err)
	}
	e.applied = true
	return nil
}

// revert puts back the content an applied edit replaced.
func (e *Edit) revert() error {
	if !e.applied {
		return nil
	}
	if !e.existed {
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", e.Path, err)
		}
	} else if err := writeAtomic(e.Path, e.old); err != nil {
		return fmt.Errorf("restoring %s: %w", e.Path, err)
	}
	e.applied = false
	return nil
}

// ApplyAll applies edits in order. When one fails, the edits already written
// are reverted, last first, and the error says whether that succeeded, so a
// failure leaves the files as they were.
func ApplyAll(edits ...*Edit) error {
	for i, e := range edits {
		err := e.Apply()
		if err == nil {
			continue
		}
		var undo []error
		for j := i - 1; j >= 0; j-- {
			if rerr := edits[j].revert(); rerr != nil {
				undo = append(undo, rerr)
			}
		}
		if len(undo) > 0 {
			return fmt.Errorf("%w (and undoing the edits already written failed: %w; check those files by hand)", err, errors.Join(undo...))
		}
		return err
	}
	return nil
}

// PlanContent plans replacing the existing file at path, whose content was read as old, with
// new: an edit computed by another package (a changelog's new section) that applies and reverts
// with the others of its change.
func PlanContent(path string, old, new []byte) *Edit {
	return &Edit{Path: path, old: old, new: new, existed: true}
}
