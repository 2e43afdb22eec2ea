package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
)

func nonce(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestValuesAreNotShellText: a value full of shell syntax reaches a run: script and a sh! command
// byte for byte, in every quoting context, and none of its syntax runs.
func TestValuesAreNotShellText(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker-"+nonce(t))
	nasty := "a $(touch " + marker + ") `touch " + marker + "` \"; touch " + marker + "; echo '  *  \\n$HOME"
	root := writeRoot(t, `vars:
  echoed: sh!printf '%s' ${env!NASTY_VALUE}
verify:
  - name: echoes
    run: |
      printf '%s' ${env!NASTY_VALUE} > unquoted.txt
      printf '%s' "${env!NASTY_VALUE}" > double.txt
      printf '%s' '${env!NASTY_VALUE}' > single.txt
      printf '%s' ${var!echoed} > from-sh.txt
      cat > heredoc.txt <<EOF
      ${env!NASTY_VALUE}
      EOF
`)
	p := load(t, root, pipeline.WithEnviron(environ("NASTY_VALUE="+nasty)))
	rep := goal.New().Run(t.Context(), p.Nodes())
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"unquoted.txt": nasty, "double.txt": nasty, "single.txt": nasty,
		"from-sh.txt": nasty, "heredoc.txt": nasty + "\n"} {
		got, err := os.ReadFile(filepath.Join(root, file))
		if err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("%s = %q (%v), want %q", file, got, err, want)
		}
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the value ran as shell: %s exists (%v)", marker, err)
	}
}

// TestValuesAreNotInArgv: while sh! commands and a goal run, no process on the machine has a
// resolved secret in its command line (/proc/*/cmdline): values reach them through the environment.
func TestValuesAreNotInArgv(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	id := nonce(t)
	secret := "argv-secret-" + id
	root := writeRoot(t, `vars:
  copied: sh!sleep 1; printf '%s' ${env!ARGV_SECRET}; true load-`+id+`
verify:
  - name: sleeps
    run: |
      : run-`+id+` ${env!ARGV_SECRET} "${var!copied}"
      sleep 2
      true # bash execs a last external command itself, which would leave no shell to look at
`)
	var (
		mu      sync.Mutex
		seen    = map[string]bool{}
		leaked  = map[string]string{} // /proc/<pid>/cmdline -> the command line
		stop    = make(chan struct{})
		stopped = make(chan struct{})
	)
	go func() {
		defer close(stopped)
		for {
			cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, f := range cmdlines {
				b, err := os.ReadFile(f)
				if err != nil {
					continue
				}
				mu.Lock()
				for _, what := range []string{"load-" + id, "run-" + id} {
					if bytes.Contains(b, []byte(what)) {
						seen[what] = true
					}
				}
				if bytes.Contains(b, []byte(secret)) {
					leaked[f] = strings.ReplaceAll(string(b), "\x00", " ")
				}
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	stopScan := sync.OnceFunc(func() { close(stop); <-stopped })
	defer stopScan()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	p := load(t, root, pipeline.WithEnviron(environ("ARGV_SECRET="+secret)))
	rep := goal.New().Run(ctx, p.Nodes())
	stopScan()
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !seen["load-"+id] || !seen["run-"+id] {
		t.Fatalf("the scan never saw the commands run (seen %v)", seen)
	}
	for f, l := range leaked {
		t.Errorf("a command line holds the secret: %s: %s", f, l)
	}
}
