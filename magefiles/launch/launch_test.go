//go:build unix

package launch

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for `go run mage.go`: started with SHIPLANE_LAUNCH_MAIN=1
// it is the launcher, in a real process of its own.
func TestMain(m *testing.M) {
	if os.Getenv("SHIPLANE_LAUNCH_MAIN") == "1" {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// The fake checkout: a module with a magefiles folder holding targets and a subpackage, built with
// the mage module the shiplane module uses (already in the module cache).
const fakeMagefile = `//go:build mage

// fake targets for the launcher's tests.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"example.com/fake/magefiles/sub"
)

// Hello prints the subpackage's word.
func Hello() { fmt.Println(sub.Word) }

// Verbose prints whether -v reached mg.Verbose.
func Verbose() { fmt.Println("verbose:", mg.Verbose()) }

// Fail fails with exit code 3.
func Fail() error { return mg.Fatal(3, "boom: the target failed") }

// Wait says it is waiting, then waits until it is interrupted.
func Wait(ctx context.Context) error {
	fmt.Fprintln(os.Stderr, "waiting")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "interrupted")
	return mg.Fatal(4, "stopped")
}
`

func fakeRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join("..", "..", "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	var mageSum []string
	for _, l := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(l, "github.com/magefile/mage ") {
			mageSum = append(mageSum, l)
		}
	}
	if len(mageSum) == 0 {
		t.Fatal("go.sum has no line for github.com/magefile/mage")
	}
	mageVersion := strings.Fields(mageSum[0])[1]
	files := map[string]string{
		"go.mod": "module example.com/fake\n\ngo 1.24\n\nrequire github.com/magefile/mage " +
			strings.TrimSuffix(mageVersion, "/go.mod") + "\n",
		"go.sum":                    strings.Join(mageSum, "\n") + "\n",
		"magefiles/magefile.go":     fakeMagefile,
		"magefiles/sub/sub.go":      "package sub\n\n// Word is what Hello prints.\nconst Word = \"hello from sub\"\n",
		"magefiles/sub/sub_test.go": "package sub\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type result struct {
	code           int
	stdout, stderr string
}

// launcher starts the test binary as the launcher in dir, with the binaries kept in cache.
func launcher(t *testing.T, dir, cache string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SHIPLANE_LAUNCH_MAIN=1", "SHIPLANE_BIN_CACHE="+cache,
		"GOPROXY=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	return cmd
}

func runLauncher(t *testing.T, dir, cache string, args ...string) result {
	t.Helper()
	cmd := launcher(t, dir, cache, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("starting the launcher: %v", err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

func TestKeyChangesWithASubpackageFileOnly(t *testing.T) {
	dir := fakeRepo(t)
	getenv := func(k string) string {
		if k == "CGO_ENABLED" {
			return "0"
		}
		return ""
	}
	key := func() string {
		t.Helper()
		k, err := Key(dir, getenv)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key()
	if k0 != key() {
		t.Fatal("the key of an unchanged checkout changed")
	}
	// Neither a test file nor a file outside magefiles/ (other than go.mod and go.sum) is an input.
	if err := os.WriteFile(filepath.Join(dir, "magefiles/sub/sub_test.go"), []byte("package sub\n\n// changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "magefiles", mainFileName), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := key(); k != k0 {
		t.Fatalf("a test file, README.md or mage's generated file changed the key: %s -> %s", k0, k)
	}
	sub := filepath.Join(dir, "magefiles/sub/sub.go")
	if err := os.WriteFile(sub, []byte("package sub\n\nconst Word = \"changed\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k1 := key()
	if k1 == k0 {
		t.Fatal("changing magefiles/sub/sub.go left the key as it was")
	}
	// A new file in a subpackage, and the build environment, are inputs too.
	if err := os.WriteFile(filepath.Join(dir, "magefiles/sub/more.go"), []byte("package sub\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k2 := key()
	if k2 == k1 {
		t.Fatal("adding magefiles/sub/more.go left the key as it was")
	}
	kc, err := Key(dir, func(k string) string {
		if k == "CGO_ENABLED" {
			return "1"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if kc == k2 {
		t.Fatal("CGO_ENABLED=1 gave the key of CGO_ENABLED=0")
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		force   bool
		compile string
		ok      bool
	}{
		{[]string{"buildAllLocal", "-only=core"}, []string{"buildAllLocal", "-only=core"}, false, "", true},
		{[]string{"-v", "-t", "5m", "pushAllDev"}, []string{"-v", "-t", "5m", "pushAllDev"}, false, "", true},
		{[]string{"-l"}, []string{"-l"}, false, "", true},
		{[]string{"verifyRelease", "v1.0.0", "-certificate-identity=https://x/a-b", "-trusted-root=/t-r.json", "-key=a-b.pub"},
			[]string{"verifyRelease", "v1.0.0", "-certificateidentity=https://x/a-b", "-trustedroot=/t-r.json", "-key=a-b.pub"}, false, "", true},
		{[]string{"-f", "-h", "bump"}, []string{"-h", "bump"}, true, "", true},
		{[]string{"-compile", "/tmp/x"}, nil, false, "/tmp/x", true},
		{[]string{"-compile=/tmp/x"}, nil, false, "/tmp/x", true},
		{[]string{"-debug", "buildAllLocal"}, nil, false, "", false},
		{[]string{"-version"}, nil, false, "", false},
		{[]string{"-compile", "/tmp/x", "-goos", "windows"}, nil, false, "/tmp/x", false},
	} {
		c, ok := parseArgs(tc.args)
		if ok != tc.ok {
			t.Errorf("parseArgs(%q): ok %v, want %v", tc.args, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if strings.Join(c.args, " ") != strings.Join(tc.want, " ") || c.force != tc.force || c.compile != tc.compile {
			t.Errorf("parseArgs(%q) = %q force=%v compile=%q, want %q force=%v compile=%q",
				tc.args, c.args, c.force, c.compile, tc.want, tc.force, tc.compile)
		}
	}
}

// TestLauncherFakeCheckout compiles a small checkout once (two calls started together on an empty
// cache) and then checks what passes through the launcher, each a real process.
func TestLauncherFakeCheckout(t *testing.T) {
	dir := fakeRepo(t)
	cache := t.TempDir()

	t.Run("two calls at once on a cold cache compile once", func(t *testing.T) {
		var wg sync.WaitGroup
		res := make([]result, 2)
		for i, args := range [][]string{{"hello"}, {"-v", "verbose"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[i] = runLauncher(t, dir, cache, args...)
			}()
		}
		wg.Wait()
		compiles := 0
		for i, r := range res {
			if r.code != 0 {
				t.Fatalf("call %d exited %d: %s%s", i, r.code, r.stdout, r.stderr)
			}
			compiles += strings.Count(r.stderr, CompilingMessage)
		}
		if compiles != 1 {
			t.Errorf("%d compile messages, want 1: %q / %q", compiles, res[0].stderr, res[1].stderr)
		}
		if res[0].stdout != "hello from sub\n" {
			t.Errorf("hello printed %q", res[0].stdout)
		}
		if res[1].stdout != "verbose: true\n" {
			t.Errorf("-v verbose printed %q, want mg.Verbose() true", res[1].stdout)
		}
		if ents, _ := os.ReadDir(filepath.Join(dir, "magefiles")); len(ents) != 2 {
			t.Errorf("the launcher left files in magefiles/: %v", ents)
		}
		if _, err := os.Stat(filepath.Join(dir, "magefiles", mainFileName)); !os.IsNotExist(err) {
			t.Errorf("%s exists in magefiles/ (%v)", mainFileName, err)
		}
	})

	t.Run("a warm call does not compile", func(t *testing.T) {
		r := runLauncher(t, dir, cache, "verbose")
		if r.code != 0 || r.stdout != "verbose: false\n" || r.stderr != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 0, %q, nothing", r.code, r.stdout, r.stderr, "verbose: false\n")
		}
		r = runLauncher(t, dir, cache, "-l")
		if r.code != 0 || !strings.Contains(r.stdout, "hello") || !strings.Contains(r.stdout, "prints the subpackage's word") {
			t.Fatalf("-l: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("a failing target's exit code and stderr pass through", func(t *testing.T) {
		r := runLauncher(t, dir, cache, "fail")
		if r.code != 3 {
			t.Errorf("exit %d, want 3", r.code)
		}
		if n := strings.Count(r.stderr, "boom: the target failed"); n != 1 {
			t.Errorf("stderr has the target's error %d times, want once: %q", n, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("stdout %q, want nothing", r.stdout)
		}
	})

	t.Run("an interrupt reaches the target", func(t *testing.T) {
		cmd := launcher(t, dir, cache, "wait")
		var errb syncBuffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(errb.String(), "waiting") {
			if time.Now().After(deadline) {
				_ = cmd.Process.Kill()
				t.Fatalf("the target did not start: %q", errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 4 {
			t.Fatalf("exit %v, want the target's own 4 after its cleanup; stderr %q", err, errb.String())
		}
		if !strings.Contains(errb.String(), "interrupted") {
			t.Errorf("the target did not see its context cancelled: %q", errb.String())
		}
	})

	t.Run("a subpackage change compiles again", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "magefiles/sub/sub.go"),
			[]byte("package sub\n\nconst Word = \"changed\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runLauncher(t, dir, cache, "hello")
		if r.code != 0 || r.stdout != "changed\n" || strings.Count(r.stderr, CompilingMessage) != 1 {
			t.Fatalf("exit %d, stdout %q, stderr %q; want a compile and %q", r.code, r.stdout, r.stderr, "changed\n")
		}
	})

	t.Run("a compile error is printed once", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "magefiles/sub/sub.go"),
			[]byte("package sub\n\nconst Word = undefinedName\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runLauncher(t, dir, cache, "hello")
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
		if n := strings.Count(r.stderr, "undefined: undefinedName"); n != 1 {
			t.Errorf("the compile error is printed %d times, want once: %q", n, r.stderr)
		}
		if strings.Contains(r.stderr, "error compiling magefiles") {
			t.Errorf("mage's own line is printed too: %q", r.stderr)
		}
	})

	t.Run("-compile copies the binary", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "magefiles/sub/sub.go"),
			[]byte("package sub\n\nconst Word = \"changed\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "targets")
		if r := runLauncher(t, dir, cache, "-compile", out); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		got, err := exec.CommandContext(context.Background(), out, "hello").Output()
		if err != nil || string(got) != "changed\n" {
			t.Fatalf("the copied binary printed %q (%v)", got, err)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
