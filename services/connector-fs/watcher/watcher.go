// Package watcher is the folder connector: it polls a directory and submits
// every new regular file to core as a job (source "fs:<filename>", payload
// the file's content).
//
// After a successful submit the file is moved into <dir>/processed/. When that
// is impossible (a read-only mount, for example) the name is remembered in
// memory instead, so the file is never submitted twice while it stays there;
// a remembered name is forgotten once the file disappears, so a later file of
// the same name is new work. Failed submits are retried on the next poll,
// except when core rejects the job outright (a 4xx answer such as 413 for an
// oversized file): then the name is remembered and the file left in place.
//
// Names starting with "." are ignored, so a writer can create ".name.tmp" and
// rename it when complete. Directories, symlinks and a file named "processed"
// are ignored.
package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

// Defaults used when the environment leaves them unset.
const (
	DefaultPort         = 8081
	DefaultWatchDir     = "/inbox"
	DefaultPollInterval = 500 * time.Millisecond
	DefaultCoreURL      = "http://core:8080"
)

// ProcessedDir is the subdirectory submitted files are moved into.
const ProcessedDir = "processed"

// MaxFileBytes is the largest file the watcher reads; larger files are
// skipped (and remembered) because core could not accept them anyway.
const MaxFileBytes = svc.DefaultMaxBody

// Config is the connector's configuration.
type Config struct {
	Addr         string        // PORT (default 8081), serves /healthz and /version
	WatchDir     string        // WATCH_DIR (default /inbox)
	PollInterval time.Duration // POLL_INTERVAL (default 500ms)
	CoreURL      string        // CORE_URL (default http://core:8080)
	Timeout      time.Duration // CORE_TIMEOUT for one submit (default 10s)
}

// ConfigFromEnv reads PORT, WATCH_DIR, POLL_INTERVAL, CORE_URL and CORE_TIMEOUT.
func ConfigFromEnv(env svc.Env) (Config, error) {
	addr, err := env.Addr(DefaultPort)
	if err != nil {
		return Config{}, err
	}
	poll, err := env.Duration("POLL_INTERVAL", DefaultPollInterval)
	if err != nil {
		return Config{}, err
	}
	timeout, err := env.Duration("CORE_TIMEOUT", 10*time.Second)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Addr:         addr,
		WatchDir:     env.String("WATCH_DIR", DefaultWatchDir),
		PollInterval: poll,
		CoreURL:      env.String("CORE_URL", DefaultCoreURL),
		Timeout:      timeout,
	}, nil
}

// Submitter sends one job to core.
type Submitter interface {
	Submit(ctx context.Context, source, payload string) error
}

// CoreClient submits jobs with POST <URL>/jobs.
type CoreClient struct {
	URL    string
	Client *http.Client
}

var _ Submitter = (*CoreClient)(nil)

// Submit posts {"source","payload"} to core. A rejection is a *svc.StatusError.
func (c *CoreClient) Submit(ctx context.Context, source, payload string) error {
	url := strings.TrimRight(c.URL, "/") + "/jobs"
	if err := svc.PostJSON(ctx, c.Client, url, map[string]string{"source": source, "payload": payload}, nil); err != nil {
		return fmt.Errorf("submitting %s: %w", source, err)
	}
	return nil
}

// Watcher polls Dir. It is not safe for concurrent use: call Poll or Watch
// from one goroutine.
type Watcher struct {
	Dir    string
	Submit Submitter
	Log    *slog.Logger

	seen    map[string]bool // submitted or rejected but not moved away
	lastErr string          // last directory error, to log it once
}

// Poll makes one pass over the directory and returns how many files it
// submitted. An unreadable directory is an error; problems with single files
// are logged and retried next time.
func (w *Watcher) Poll(ctx context.Context) (int, error) {
	if w.seen == nil {
		w.seen = make(map[string]bool)
	}
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		err = fmt.Errorf("reading watch dir: %w", err)
		if err.Error() != w.lastErr {
			w.Log.Warn("cannot poll", "err", err)
			w.lastErr = err.Error()
		}
		return 0, err
	}
	if w.lastErr != "" {
		w.Log.Info("watch dir readable again", "dir", w.Dir)
		w.lastErr = ""
	}

	present := make(map[string]bool, len(entries))
	submitted := 0
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || name == ProcessedDir {
			continue
		}
		present[name] = true
		if w.seen[name] {
			continue
		}
		if ctx.Err() != nil {
			return submitted, ctx.Err()
		}
		if w.handle(ctx, name) {
			submitted++
		}
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
	return submitted, nil
}

// handle submits one file and reports whether it was submitted.
func (w *Watcher) handle(ctx context.Context, name string) bool {
	path := filepath.Join(w.Dir, name)
	log := w.Log.With("file", name)
	info, err := os.Stat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot stat, will retry", "err", err)
		}
		return false
	}
	if info.Size() > MaxFileBytes {
		log.Error("file too large, skipping it", "bytes", info.Size(), "max", MaxFileBytes)
		w.seen[name] = true
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot read, will retry", "err", err)
		}
		return false
	}
	if err := w.Submit.Submit(ctx, "fs:"+name, string(data)); err != nil {
		var se *svc.StatusError
		if errors.As(err, &se) && se.Permanent() {
			log.Error("core rejected the file, not retrying it", "err", err)
			w.seen[name] = true
			return false
		}
		log.Warn("submit failed, will retry", "err", err)
		return false
	}
	if dst, err := w.moveProcessed(name); err != nil {
		log.Info("submitted; cannot move it, remembering it instead", "err", err)
		w.seen[name] = true
	} else {
		log.Info("submitted", "moved_to", dst)
	}
	return true
}

// moveProcessed moves name into ProcessedDir without overwriting an earlier
// file of the same name.
func (w *Watcher) moveProcessed(name string) (string, error) {
	dir := filepath.Join(w.Dir, ProcessedDir)
	// As writable as the inbox it lives in: the folder is shared with whoever drops the files (a
	// user on the host, not this service's user), who must be able to clear it.
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(dir, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("creating %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o777); err != nil { // Mkdir's mode passes through the umask
			return "", fmt.Errorf("making %s writable: %w", dir, err)
		}
	case err != nil:
		return "", fmt.Errorf("checking %s: %w", dir, err)
	case !st.IsDir():
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	dst := filepath.Join(dir, name)
	for i := 1; ; i++ {
		_, err := os.Lstat(dst)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("looking for a free name in %s: %w", dir, err)
		}
		dst = filepath.Join(dir, name+"."+strconv.Itoa(i))
	}
	if err := os.Rename(filepath.Join(w.Dir, name), dst); err != nil {
		return "", fmt.Errorf("moving into %s: %w", dir, err)
	}
	return dst, nil
}

// Watch polls every interval, starting at once, until ctx ends.
func (w *Watcher) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = w.Poll(ctx) // errors are logged by Poll
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Run watches the directory and serves /healthz and /version until ctx ends.
func Run(ctx context.Context, info svc.Info, env svc.Env, log *slog.Logger) error {
	cfg, err := ConfigFromEnv(env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &Watcher{
		Dir:    cfg.WatchDir,
		Submit: &CoreClient{URL: cfg.CoreURL, Client: &http.Client{Timeout: cfg.Timeout}},
		Log:    log,
	}
	log.Info("watching", "dir", cfg.WatchDir, "every", cfg.PollInterval, "core_url", cfg.CoreURL)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Watch(ctx, cfg.PollInterval)
	}()
	err = svc.ListenAndServe(ctx, log, cfg.Addr, svc.NewMux(info))
	cancel()
	<-done
	return err
}
