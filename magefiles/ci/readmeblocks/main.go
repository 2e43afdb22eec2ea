// Command readmeblocks runs the README's ```sh blocks in document order, as written, in a fresh
// clone of the repository at HEAD, and stops at the first that fails, naming its README line.
// scripts/readme-blocks runs it; so does magefiles/ci's TestReadmeBlocksRunAsWritten.
//
// A block that cannot run on a bare machine (it needs a published release, a kube cluster, a
// GitHub token…) has a comment on the line right above its fence, and the runner prints the
// reason instead of running it:
//
//	<!-- readme-blocks: skip (needs a published release) -->
//
// A ```console block is a transcript: each "$ command" line is run and its standard output must
// equal the lines under it. Blocks in other languages (yaml, go, dockerfile, none) are listed as
// not run.
//
// Each block runs in `bash -e -c`, in a session of its own, from the clone's root, with the
// environment of the runner plus, pointing into the runner's own folder, LOCAL_REGISTRY_DIR (the
// user cache is left alone), DOCKER_CONFIG (a copy of the Docker config and contexts: a block's
// `docker context use` or `docker login` does not outlive the run) and KUBECONFIG (empty). There is no terminal, so there is no job control: `kill %1` reaches
// only the job's first process, and whatever a block leaves running is ended when the block ends
// (SIGTERM to its session, SIGKILL after 10 s). At the end, and on a failure or an interrupt, the
// runner runs `go run mage.go composeDownLocal` when a block ran composeUpLocal, and removes the
// clone and the registry folder.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// Block is one fenced block of the README.
type Block struct {
	// Line is the README line of the opening fence, counting from 1.
	Line int
	// Lang is the first word of the fence's info string ("sh", "console", "" for none).
	Lang string
	// Body is the block's text, each line ending in "\n".
	Body string
	// Skip is the reason of a skip comment right above the fence; "" runs the block.
	Skip string
}

var directive = regexp.MustCompile(`^<!-- readme-blocks: skip \((.+)\) -->$`)

// SyntaxError is a README the runner cannot read: an unclosed fence, or a readme-blocks comment
// that is not a skip with a reason.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("README line %d: %s", e.Line, e.Msg) }

// Parse returns the README's fenced blocks (``` fences) in document order.
func Parse(readme []byte) ([]Block, error) {
	var (
		blocks   []Block
		cur      *Block
		body     strings.Builder
		lastText string // the last non-blank line outside a block
		lastLine int
	)
	sc := bufio.NewScanner(bytes.NewReader(readme))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur != nil {
			if strings.TrimSpace(line) == "```" {
				cur.Body = body.String()
				blocks = append(blocks, *cur)
				cur, lastText = nil, ""
				continue
			}
			body.WriteString(line + "\n")
			continue
		}
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "<!-- readme-blocks:") && !directive.MatchString(trimmed) {
			return nil, &SyntaxError{Line: n, Msg: "a readme-blocks comment must read <!-- readme-blocks: skip (reason) -->"}
		}
		if rest, ok := strings.CutPrefix(trimmed, "```"); ok {
			b := Block{Line: n}
			if f := strings.Fields(rest); len(f) > 0 {
				b.Lang = f[0]
			}
			if m := directive.FindStringSubmatch(lastText); m != nil && lastLine == n-1 {
				b.Skip = m[1]
			}
			cur = &b
			body.Reset()
			continue
		}
		if trimmed != "" {
			lastText, lastLine = trimmed, n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the README: %w", err)
	}
	if cur != nil {
		return nil, &SyntaxError{Line: cur.Line, Msg: "the block opened here is never closed"}
	}
	for _, b := range blocks {
		if b.Skip != "" && b.Lang != "sh" && b.Lang != "console" {
			return nil, &SyntaxError{Line: b.Line, Msg: "a skip comment above a block that is never run (" + describe(b) + ")"}
		}
	}
	return blocks, nil
}

func describe(b Block) string {
	if b.Lang == "" {
		return "a block with no language"
	}
	return "a " + b.Lang + " block"
}

// Command is one "$ command" of a console block and the output written under it.
type Command struct {
	Line int // README line of the "$ " line
	Cmd  string
	Want string // the lines under it, each ending in "\n"
}

// Commands splits a console block into its commands. Lines before the first "$ " are an error.
func Commands(b Block) ([]Command, error) {
	var cmds []Command
	for i, line := range strings.SplitAfter(strings.TrimSuffix(b.Body, "\n"), "\n") {
		line = strings.TrimSuffix(line, "\n")
		if c, ok := strings.CutPrefix(line, "$ "); ok {
			cmds = append(cmds, Command{Line: b.Line + 1 + i, Cmd: c})
			continue
		}
		if len(cmds) == 0 {
			return nil, &SyntaxError{Line: b.Line + 1 + i, Msg: "a console block must start with a \"$ command\" line"}
		}
		cmds[len(cmds)-1].Want += line + "\n"
	}
	return cmds, nil
}

// BlockError is a block that failed.
type BlockError struct {
	File string
	Line int
	Err  error
}

func (e *BlockError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *BlockError) Unwrap() error { return e.Err }

// runner runs blocks in dir, writing to out.
type runner struct {
	dir, readme string
	env         []string
	out         *lineEnd
	composeUp   bool
}

// lineEnd is a writer that knows whether what was written last ended a line, so that the
// runner's own lines start on a line of their own after a block's output such as curl's.
type lineEnd struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool
}

func (l *lineEnd) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(p) > 0 {
		l.midLine = p[len(p)-1] != '\n'
	}
	return l.w.Write(p)
}

// Printf writes a line of the runner's own, after a newline if the output stopped mid-line.
func (l *lineEnd) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.midLine {
		_, _ = io.WriteString(l.w, "\n")
		l.midLine = false
	}
	_, _ = fmt.Fprintf(l.w, format, args...)
}

func run(ctx context.Context, args []string, out io.Writer) int {
	fs := flag.NewFlagSet("readme-blocks", flag.ContinueOnError)
	fs.SetOutput(out)
	repo := fs.String("repo", ".", "the repository to clone (its HEAD)")
	readme := fs.String("readme", "README.md", "the README, relative to the repository root")
	work := fs.String("dir", filepath.Join(os.TempDir(), "shiplane-readme-blocks"),
		"the folder the clone is made in, emptied first and removed at the end; a fixed path lets the Go build cache serve the next run")
	keep := fs.Bool("keep", false, "keep the clone and its registry folder")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	start := time.Now()
	le := &lineEnd{w: out}
	err := cloneAndRun(ctx, *repo, *readme, *work, *keep, le)
	if err != nil {
		le.Printf("readme-blocks: FAILED after %s: %v\n", time.Since(start).Round(time.Second), err)
		return 1
	}
	le.Printf("readme-blocks: every block ran as written (%s)\n", time.Since(start).Round(time.Second))
	return 0
}

func cloneAndRun(ctx context.Context, repo, readme, work string, keep bool, out *lineEnd) (err error) {
	head, err := git(ctx, repo, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if err := os.RemoveAll(work); err != nil {
		return fmt.Errorf("emptying %s: %w", work, err)
	}
	clone := filepath.Join(work, "repo")
	registryDir := filepath.Join(work, "registry")
	if !keep {
		defer func() {
			if rerr := os.RemoveAll(work); rerr != nil {
				err = errors.Join(err, fmt.Errorf("removing %s: %w", work, rerr))
			}
		}()
	}
	if _, err := git(ctx, "", "clone", "-q", "--no-checkout", repo, clone); err != nil {
		return err
	}
	if _, err := git(ctx, clone, "checkout", "-q", "--detach", head); err != nil {
		return err
	}
	out.Printf("readme-blocks: %s at %.12s, cloned into %s\n", readme, head, clone)
	data, err := os.ReadFile(filepath.Join(clone, readme))
	if err != nil {
		return fmt.Errorf("reading the README: %w", err)
	}
	blocks, err := Parse(data)
	if err != nil {
		return err
	}
	dockerConfig, err := copyDockerConfig(filepath.Join(work, "docker-config"))
	if err != nil {
		return err
	}
	r := &runner{dir: clone, readme: readme, out: out,
		env: append(os.Environ(), "LOCAL_REGISTRY_DIR="+registryDir, "DOCKER_CONFIG="+dockerConfig,
			"KUBECONFIG="+filepath.Join(work, "kubeconfig"))}
	defer func() {
		if cerr := r.cleanup(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	for _, b := range blocks {
		if err := r.block(ctx, b); err != nil {
			return &BlockError{File: readme, Line: b.Line, Err: err}
		}
	}
	return nil
}

func (r *runner) block(ctx context.Context, b Block) error {
	where := fmt.Sprintf("%s:%d", r.readme, b.Line)
	switch {
	case b.Skip != "":
		r.out.Printf("%s: skipped: %s\n", where, b.Skip)
		return nil
	case b.Lang == "console":
		cmds, err := Commands(b)
		if err != nil {
			return err
		}
		for _, c := range cmds {
			r.out.Printf("%s: comparing the output of $ %s\n", where, c.Cmd)
			start := time.Now()
			var stdout, stderr bytes.Buffer
			if err := r.shell(ctx, c.Cmd, &stdout, &stderr); err != nil {
				return fmt.Errorf("$ %s: %w\n%s", c.Cmd, err, stderr.String())
			}
			if d := diff(c.Want, stdout.String()); d != "" {
				return fmt.Errorf("$ %s (line %d) prints something else than the README shows:\n%s", c.Cmd, c.Line, d)
			}
			r.out.Printf("%s: ok, the same (%s)\n", where, time.Since(start).Round(100*time.Millisecond))
		}
		return nil
	case b.Lang == "sh":
		r.out.Printf("%s: running\n", where)
		for _, l := range strings.SplitAfter(strings.TrimSuffix(b.Body, "\n"), "\n") {
			r.out.Printf("  $ %s", strings.TrimSuffix(l, "\n")+"\n")
		}
		if strings.Contains(b.Body, "composeUpLocal") {
			r.composeUp = true
		}
		start := time.Now()
		if err := r.shell(ctx, b.Body, r.out, r.out); err != nil {
			return err
		}
		r.out.Printf("%s: ok (%s)\n", where, time.Since(start).Round(100*time.Millisecond))
		return nil
	default:
		r.out.Printf("%s: not run (%s)\n", where, describe(b))
		return nil
	}
}

// shell runs script with bash -e in a session of its own and ends whatever it leaves running.
func (r *runner) shell(ctx context.Context, script string, stdout, stderr io.Writer) error {
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// A process the block left in the background holds the output pipe: once bash has exited,
	// Wait waits this long for it, then closes the pipe and returns (endSession ends the rest).
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting bash: %w", err)
	}
	sid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		endSession(sid, r.out)
		err = errors.Join(ctx.Err(), <-done)
	}
	endSession(sid, r.out)
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // bash succeeded; what it left running was ended above
	}
	if err != nil {
		return fmt.Errorf("the block failed: %w", err)
	}
	return nil
}

// endSession sends SIGTERM to every process of session sid still running, and SIGKILL to those
// left after 10 seconds. It reads /proc (Linux).
func endSession(sid int, out *lineEnd) {
	pids := sessionProcs(sid)
	if len(pids) == 0 {
		return
	}
	out.Printf("readme-blocks: ending %d process(es) the block left running\n", len(pids))
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sessionProcs(sid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range sessionProcs(sid) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// sessionProcs lists the live processes (not zombies) whose session is sid.
func sessionProcs(sid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 4 || f[0] == "Z" {
			continue
		}
		if s, err := strconv.Atoi(f[3]); err == nil && s == sid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// copyDockerConfig copies the Docker config folder ($DOCKER_CONFIG, else ~/.docker): its
// config.json (credential helpers, current context) and contexts/, into dst, and returns dst. A
// block then sees the same engine and credentials, and what it writes there (docker context use,
// docker login) goes away with the run.
func copyDockerConfig(dst string) (string, error) {
	src := os.Getenv("DOCKER_CONFIG")
	if src == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the Docker config folder: %w", err)
		}
		src = filepath.Join(home, ".docker")
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return "", fmt.Errorf("copying the Docker config folder: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err == nil {
		err = os.WriteFile(filepath.Join(dst, "config.json"), data, 0o600)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("copying the Docker config folder %s: %w", src, err)
	}
	contexts := filepath.Join(src, "contexts")
	if _, err := os.Stat(contexts); err == nil {
		if err := os.CopyFS(filepath.Join(dst, "contexts"), os.DirFS(contexts)); err != nil {
			return "", fmt.Errorf("copying the Docker config folder %s: %w", src, err)
		}
	}
	return dst, nil
}

// cleanup stops what the blocks started with Compose.
func (r *runner) cleanup(ctx context.Context) error {
	if !r.composeUp {
		return nil
	}
	r.out.Printf("readme-blocks: cleaning up: go run mage.go composeDownLocal\n")
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	if err := r.shell(cctx, "go run mage.go composeDownLocal", &log, &log); err != nil {
		return fmt.Errorf("cleaning up with composeDownLocal: %w\n%s", err, log.String())
	}
	return nil
}

// diff returns "" when want and got are the same text, else the first differing line of each.
func diff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; ; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("  first difference at output line %d\n  README: %q\n  real:   %q\n  (the README shows %d lines, the command printed %d)",
				i+1, wl, gl, len(w)-1, len(g)-1)
		}
	}
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
