package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseFindsBlocksAndSkipReasons(t *testing.T) {
	readme := "# t\n" + // 1
		"\n" + // 2
		"```sh\n" + // 3
		"echo one\n" + // 4
		"```\n" + // 5
		"<!-- readme-blocks: skip (needs a published release) -->\n" + // 6
		"```sh\n" + // 7
		"helm install x\n" + // 8
		"```\n" + // 9
		"<!-- readme-blocks: skip (not right above) -->\n" + // 10
		"\n" + // 11
		"```yaml\n" + // 12
		"a: 1\n" + // 13
		"```\n" // 14
	blocks, err := Parse([]byte(readme))
	if err != nil {
		t.Fatal(err)
	}
	want := []Block{
		{Line: 3, Lang: "sh", Body: "echo one\n"},
		{Line: 7, Lang: "sh", Body: "helm install x\n", Skip: "needs a published release"},
		{Line: 12, Lang: "yaml", Body: "a: 1\n"},
	}
	if len(blocks) != len(want) {
		t.Fatalf("blocks = %+v, want %+v", blocks, want)
	}
	for i := range want {
		if blocks[i] != want[i] {
			t.Errorf("block %d = %+v, want %+v", i, blocks[i], want[i])
		}
	}
}

func TestParseRefusesWhatItCannotRead(t *testing.T) {
	for name, tc := range map[string]struct {
		readme string
		line   int
	}{
		"unclosed fence":             {"text\n```sh\necho\n", 2},
		"a comment without a reason": {"<!-- readme-blocks: skip -->\n```sh\necho\n```\n", 1},
		"a skip above a yaml block":  {"<!-- readme-blocks: skip (why) -->\n```yaml\na: 1\n```\n", 2},
	} {
		_, err := Parse([]byte(tc.readme))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != tc.line {
			t.Errorf("%s: err = %v, want a *SyntaxError at line %d", name, err, tc.line)
		}
	}
}

func TestCommandsSplitsATranscript(t *testing.T) {
	cmds, err := Commands(Block{Line: 10, Lang: "console", Body: "$ echo a\na\n$ true\n$ printf 'b\\nc\\n'\nb\nc\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{{11, "echo a", "a\n"}, {13, "true", ""}, {14, `printf 'b\nc\n'`, "b\nc\n"}}
	if len(cmds) != len(want) {
		t.Fatalf("Commands = %+v, want %+v", cmds, want)
	}
	for i := range want {
		if cmds[i] != want[i] {
			t.Errorf("command %d = %+v, want %+v", i, cmds[i], want[i])
		}
	}
	if _, err := Commands(Block{Line: 1, Body: "output first\n$ echo\n"}); err == nil {
		t.Error("a transcript starting with output: no error")
	}
}

// repoWithReadme makes a git repository whose committed README.md is readme.
func repoWithReadme(t *testing.T, readme string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "README.md"},
		{"-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "readme"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestRunStopsAtTheFirstFailingBlockAndNamesItsLine(t *testing.T) {
	repo := repoWithReadme(t, "# t\n"+
		"```sh\necho first > first.txt\nprintf no-newline\n```\n"+ // block at line 2
		"<!-- readme-blocks: skip (needs a kube cluster) -->\n```sh\nexit 3\n```\n"+ // line 7
		"```console\n$ echo same\nsame\n```\n"+ // line 10
		"```sh\ntest -f first.txt\nfalse\necho never\n```\n"+ // line 14
		"```sh\necho not reached\n```\n")
	work := filepath.Join(t.TempDir(), "work")
	var out bytes.Buffer
	code := run(t.Context(), []string{"-repo", repo, "-dir", work}, &out)
	got := out.String()
	if code != 1 {
		t.Fatalf("exit code %d, want 1:\n%s", code, got)
	}
	for _, want := range []string{
		"no-newline\nREADME.md:2: ok",
		"README.md:7: skipped: needs a kube cluster",
		"README.md:10: ok, the same",
		"README.md:14: the block failed: exit status 1",
		"readme-blocks: FAILED",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, never := range []string{"\nnever\n", "not reached\n", "README.md:18"} {
		if strings.Contains(got, never) {
			t.Errorf("output has %q, past the failure:\n%s", never, got)
		}
	}
	if _, err := os.Stat(work); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the clone's folder %s is still there: %v", work, err)
	}
}

func TestRunComparesConsoleOutput(t *testing.T) {
	repo := repoWithReadme(t, "```console\n$ printf 'a\\nb\\n'\na\nB\n```\n")
	var out bytes.Buffer
	if code := run(t.Context(), []string{"-repo", repo, "-dir", filepath.Join(t.TempDir(), "w")}, &out); code != 1 {
		t.Fatalf("exit code %d, want 1:\n%s", code, out.String())
	}
	want := "first difference at output line 2\n  README: \"B\"\n  real:   \"b\""
	if !strings.Contains(out.String(), "README.md:1: $ printf") || !strings.Contains(out.String(), want) {
		t.Errorf("output lacks the block's line or %q:\n%s", want, out.String())
	}
}

// A block that leaves a process in the background (as `go run mage.go localRegistry &` does when
// kill %1 reaches only go run) has it ended when the block ends.
func TestRunEndsWhatABlockLeftRunning(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	repo := repoWithReadme(t, "```sh\nsleep 300 &\necho $! > "+pidFile+"\n```\n")
	var out bytes.Buffer
	start := time.Now()
	if code := run(t.Context(), []string{"-repo", repo, "-dir", filepath.Join(t.TempDir(), "w")}, &out); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out.String())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the run took %s: it waited for the background process", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	// The process is gone, or a zombie whose parent (the block's bash) has exited: signal 0 fails
	// for neither, so read its state.
	if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && !bytes.Contains(stat, []byte(") Z ")) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the background sleep (%d) still runs after the run: %s", pid, stat)
	}
	if !strings.Contains(out.String(), "ending 1 process(es) the block left running") {
		t.Errorf("output does not say it ended the leftover:\n%s", out.String())
	}
}

// What a block writes to the Docker config (docker context use) stays in the run's copy.
func TestRunKeepsTheDockerConfigOfTheMachine(t *testing.T) {
	cfg := t.TempDir()
	orig := []byte(`{"auths":{},"currentContext":"default"}`)
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), orig, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	repo := repoWithReadme(t, "```sh\n"+
		"grep -q '\"currentContext\":\"default\"' \"$DOCKER_CONFIG/config.json\"\n"+
		"echo '{\"currentContext\":\"big\"}' > \"$DOCKER_CONFIG/config.json\"\n```\n")
	var out bytes.Buffer
	if code := run(t.Context(), []string{"-repo", repo, "-dir", filepath.Join(t.TempDir(), "w")}, &out); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out.String())
	}
	if got, err := os.ReadFile(filepath.Join(cfg, "config.json")); err != nil || !bytes.Equal(got, orig) {
		t.Errorf("the machine's config.json = %s, %v; want it unchanged", got, err)
	}
}
