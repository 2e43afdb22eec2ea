// Package launch is what mage.go runs: it keeps the compiled mage targets of a checkout in the
// user cache, under the hash of everything they are built from, and runs that binary with the
// arguments. The first call after a change compiles (once, even when several calls start
// together: the others wait for it); every later call only hashes the magefiles and starts the
// binary. Two calls at once in one checkout never write into the source tree: the main file mage
// generates is written into a private folder of the launcher's own.
//
// It must stay small: `go run mage.go` builds and hashes everything this package imports on every
// call, so it imports nothing of shiplane's engine.
package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CompilingMessage is printed on stderr right before a compile starts.
const CompilingMessage = "compiling shiplane (first run only)…"

// WaitingMessage is printed on stderr when another call is compiling the same cache's binary.
const WaitingMessage = "shiplane: another call is compiling; waiting for it…"

// binName is the file name of a kept binary inside its entry folder.
const binName = "shiplane"

// keep is how many entries (the most recently used) a compile leaves in the cache.
const keep = 5

// Launcher finds or compiles the targets binary of one checkout.
type Launcher struct {
	root   string
	cache  string
	goCmd  string
	stderr io.Writer
	getenv func(string) string
}

// Option configures a Launcher.
type Option func(*Launcher)

// WithCacheDir keeps the binaries in dir. Default: $SHIPLANE_BIN_CACHE, else
// os.UserCacheDir()/shiplane/bin.
func WithCacheDir(dir string) Option { return func(l *Launcher) { l.cache = dir } }

// WithGoCmd compiles with this go command. Default: $MAGEFILE_GOCMD, else "go".
func WithGoCmd(goCmd string) Option { return func(l *Launcher) { l.goCmd = goCmd } }

// WithStderr sends the compile message and compile errors to w. Default: os.Stderr.
func WithStderr(w io.Writer) Option { return func(l *Launcher) { l.stderr = w } }

// WithGetenv reads the environment through getenv (the build variables that enter the key and the
// defaults above). Default: os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(l *Launcher) { l.getenv = getenv }
}

// New returns a Launcher for the repository at root (the folder holding magefiles/ and go.mod).
func New(root string, opts ...Option) (*Launcher, error) {
	l := &Launcher{root: root, stderr: os.Stderr, getenv: os.Getenv}
	for _, o := range opts {
		o(l)
	}
	if l.goCmd == "" {
		l.goCmd = l.getenv("MAGEFILE_GOCMD")
	}
	if l.goCmd == "" {
		l.goCmd = "go"
	}
	if l.cache == "" {
		l.cache = l.getenv("SHIPLANE_BIN_CACHE")
	}
	if l.cache == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("finding the folder to keep the compiled targets in (set SHIPLANE_BIN_CACHE): %w", err)
		}
		l.cache = filepath.Join(uc, "shiplane", "bin")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving the repository folder %s: %w", root, err)
	}
	l.root = abs
	if st, err := os.Stat(filepath.Join(abs, "magefiles")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: no magefiles folder in %s (run from the repository root)", ErrNoMagefiles, abs)
	}
	return l, nil
}

// ErrNoMagefiles is returned by New when root has no magefiles folder.
var ErrNoMagefiles = errors.New("not a shiplane checkout")

// CompileError is a failed compile of the targets; Output is what the compiler printed.
type CompileError struct {
	Output string
	Err    error
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("compiling the targets: %v", e.Err)
}

func (e *CompileError) Unwrap() error { return e.Err }

// CacheDir is the folder the binaries are kept in.
func (l *Launcher) CacheDir() string { return l.cache }

// Binary returns the path of the compiled targets for the checkout as it is now, compiling them
// first when the cache has no binary for its key (or always, with force). A compile takes the
// cache's lock, so concurrent calls compile once; it prints CompilingMessage on stderr first.
func (l *Launcher) Binary(ctx context.Context, force bool) (string, error) {
	key, err := Key(l.root, l.getenv)
	if err != nil {
		return "", err
	}
	entry := filepath.Join(l.cache, key)
	bin := filepath.Join(entry, binName+exeSuffix)
	if !force {
		if _, err := os.Stat(bin); err == nil {
			touch(entry)
			return bin, nil
		}
	}
	if err := os.MkdirAll(l.cache, 0o755); err != nil {
		return "", fmt.Errorf("creating the cache folder %s: %w", l.cache, err)
	}
	unlock, err := lockFile(filepath.Join(l.cache, "compile.lock"), func() {
		fmt.Fprintln(l.stderr, WaitingMessage)
	})
	if err != nil {
		return "", fmt.Errorf("locking the cache folder %s: %w", l.cache, err)
	}
	defer unlock()
	if !force {
		// Another call may have compiled it while this one waited for the lock.
		if _, err := os.Stat(bin); err == nil {
			touch(entry)
			return bin, nil
		}
	}
	fmt.Fprintln(l.stderr, CompilingMessage)
	if err := l.compile(ctx, entry, bin); err != nil {
		return "", err
	}
	l.prune(key)
	return bin, nil
}

// touch records that an entry was used (its folder's modification time), at most once an hour.
func touch(entry string) {
	if st, err := os.Stat(entry); err == nil && time.Since(st.ModTime()) > time.Hour {
		now := time.Now()
		_ = os.Chtimes(entry, now, now)
	}
}

// prune removes all but the keep most recently used entries (the current one always stays), and
// temporary folders a killed compile left behind. Called with the lock held; best effort.
func (l *Launcher) prune(current string) {
	ents, err := os.ReadDir(l.cache)
	if err != nil {
		return
	}
	type entry struct {
		name string
		mod  time.Time
	}
	var entries []entry
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if strings.HasPrefix(e.Name(), "tmp-") {
			_ = os.RemoveAll(filepath.Join(l.cache, e.Name()))
			continue
		}
		if e.Name() != current {
			entries = append(entries, entry{e.Name(), info.ModTime()})
		}
	}
	if len(entries) < keep {
		return
	}
	// Newest first; remove from the keep-th on (the current entry takes one of the keep places).
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && entries[j].mod.After(entries[j-1].mod); j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
	for _, e := range entries[keep-1:] {
		_ = os.RemoveAll(filepath.Join(l.cache, e.name))
	}
}
