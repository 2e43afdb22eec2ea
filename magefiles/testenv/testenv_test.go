package testenv_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/testenv"
)

func TestCopyRepoIsACleanCommittedCopyWithItsOwnProject(t *testing.T) {
	root := testenv.CopyRepo(t, "shiplane-test-testenv")
	if root == testenv.RepoRoot(t) {
		t.Fatal("CopyRepo returned the repository itself")
	}
	data, err := os.ReadFile(filepath.Join(root, "deploy", "components.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\nproject: shiplane-test-testenv\n") {
		t.Errorf("project not rewritten:\n%s", data)
	}
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if st := git("status", "--porcelain"); st != "" {
		t.Errorf("copy is not clean:\n%s", st)
	}
	want := testenv.CommitTime.Unix()
	if got := git("log", "-1", "--format=%ct %at"); got != strconv.FormatInt(want, 10)+" "+strconv.FormatInt(want, 10) {
		t.Errorf("commit and author times = %s, want %d (%s)", got, want, testenv.CommitTime)
	}
	for _, f := range []string{"go.mod", "services/core/Dockerfile", "services/base/rootfs/etc/passwd"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("copy lacks %s: %v", f, err)
		}
	}
}
