package ci_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository's top directory: the tests run in magefiles/ci.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from the test's directory: %v", err)
	}
	return root
}

// workflows lists the repository's workflow files, relative to root; there must be some.
func workflows(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := fs.Glob(os.DirFS(root), ".github/workflows/"+pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no workflow in %s/.github/workflows", root)
	}
	slices.Sort(files)
	return files
}

// actionlintModule is the actionlint the tests run: its own module at a pinned version, built
// with its own dependencies. It cannot be a requirement of this module: actionlint v1.7.12 is
// written against go.yaml.in/yaml/v4 v4.0.0-rc.3, and this module needs rc.6 (for the Compose
// SDK), whose API changed.
const actionlintModule = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

var (
	actionlintOnce sync.Once
	actionlintBin  string
	actionlintErr  error
	binDir         string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// actionlintPath installs actionlintModule into a temporary directory once (from the module cache
// and the build cache after the first time) and returns the binary's path.
func actionlintPath(t *testing.T) string {
	t.Helper()
	actionlintOnce.Do(func() {
		binDir, actionlintErr = os.MkdirTemp("", "shiplane-actionlint-")
		if actionlintErr != nil {
			return
		}
		cmd := exec.Command("go", "install", actionlintModule)
		cmd.Env = append(os.Environ(), "GOBIN="+binDir, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			actionlintErr = fmt.Errorf("go install %s: %v\n%s", actionlintModule, err, out)
			return
		}
		actionlintBin = filepath.Join(binDir, "actionlint")
	})
	if actionlintErr != nil {
		t.Fatal(actionlintErr)
	}
	return actionlintBin
}

// actionlintError is one problem as actionlint's -format '{{json .}}' writes it.
type actionlintError struct {
	Message  string `json:"message"`
	Filepath string `json:"filepath"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Kind     string `json:"kind"`
}

// actionlintProblems runs actionlint in dir on files (relative to dir), with shellcheck on the
// run: scripts when it is on PATH, and returns each problem as "file:line:col: message [kind]".
func actionlintProblems(t *testing.T, dir string, files []string) []string {
	t.Helper()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not on PATH: run: scripts are not shellchecked (GitHub's runners have it)")
	}
	cmd := exec.Command(actionlintPath(t), append([]string{"-no-color", "-format", "{{json .}}"}, files...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// Exit status 1 means problems were found (and printed); anything else failed to lint.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("actionlint: %v\n%s%s", err, out, stderr.String())
	}
	var errs []actionlintError
	if err := json.Unmarshal(out, &errs); err != nil {
		t.Fatalf("reading actionlint's report: %v\n%s", err, out)
	}
	if exit != nil && len(errs) == 0 {
		t.Fatalf("actionlint exited 1 and reported nothing\n%s", stderr.String())
	}
	problems := make([]string, len(errs))
	for i, e := range errs {
		problems[i] = fmt.Sprintf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	return problems
}

var (
	// pinnedAction is owner/repo[/path]@<full commit SHA>.
	pinnedAction = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}$`)
	// pinnedImage is docker://image@sha256:<digest>.
	pinnedImage = regexp.MustCompile(`^docker://[^@\s]+@sha256:[0-9a-f]{64}$`)
	// releaseComment names the release a pinned SHA is in: "# v4.2.2".
	releaseComment = regexp.MustCompile(`^#\s*v\d+\.\d+\.\d+(\s|$)`)
	inlineSecret   = regexp.MustCompile(`\$\{\{\s*secrets\.`)
	// passwordFlag is docker login's password given on its command line.
	passwordFlag = regexp.MustCompile(`(^|\s)(-p|--password)(\s|=)`)
)

// mapping returns the value under key in a mapping node, or nil.
func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// entries returns the key and value nodes of a mapping node, in order.
func entries(n *yaml.Node) [][2]*yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

// parseWorkflow reads a workflow's YAML document node.
func parseWorkflow(name string, content []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", name)
	}
	return doc.Content[0], nil
}

// eachJob calls fn for every job of the workflow with its id (the key node), its node and its steps.
func eachJob(wf *yaml.Node, fn func(id *yaml.Node, job *yaml.Node, steps []*yaml.Node)) {
	for _, kv := range entries(mapping(wf, "jobs")) {
		var steps []*yaml.Node
		if s := mapping(kv[1], "steps"); s != nil && s.Kind == yaml.SequenceNode {
			steps = s.Content
		}
		fn(kv[0], kv[1], steps)
	}
}

// policyProblems checks what actionlint does not: every uses: is pinned by a full commit SHA with
// its release in a comment, and no run: script holds a ${{ }} expression.
func policyProblems(name string, content []byte) []string {
	wf, err := parseWorkflow(name, content)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	report := func(n *yaml.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s:%d: %s", name, n.Line, fmt.Sprintf(format, args...)))
	}
	checkUses := func(where string, u *yaml.Node) {
		switch v := u.Value; {
		case strings.HasPrefix(v, "./"):
			// A local action or workflow is this commit's own file.
		case strings.HasPrefix(v, "docker://"):
			if !pinnedImage.MatchString(v) {
				report(u, "%s uses %q: pin the image by its sha256 digest", where, v)
			}
		case !pinnedAction.MatchString(v):
			report(u, "%s uses %q: pin it by the full 40-hex commit SHA of a release (a tag or branch can be moved), with the release in a comment: `uses: owner/repo@<sha> # v1.2.3`", where, v)
		case !releaseComment.MatchString(u.LineComment):
			report(u, "%s uses %q without the release it pins in a comment (`# v1.2.3`), so nobody can tell what the SHA is", where, v)
		}
	}
	eachJob(wf, func(key, job *yaml.Node, steps []*yaml.Node) {
		id := key.Value
		if u := mapping(job, "uses"); u != nil {
			checkUses("job "+id, u)
		}
		for i, step := range steps {
			where := fmt.Sprintf("job %s step %d", id, i+1)
			if s := mapping(step, "name"); s != nil {
				where = fmt.Sprintf("job %s step %q", id, s.Value)
			}
			if u := mapping(step, "uses"); u != nil {
				checkUses(where, u)
			}
			r := mapping(step, "run")
			switch {
			case r == nil:
			case inlineSecret.MatchString(r.Value):
				report(r, "%s writes a secret into its run: script; pass it through env: and read it as $NAME (for docker login: --password-stdin)", where)
			case strings.Contains(r.Value, "${{"):
				report(r, "%s splices a ${{ }} expression into its run: script; pass the value through env: and read it as \"$NAME\"", where)
			}
		}
	})
	return out
}

// releaseProblems checks the release workflow's own rules: the publishing job runs in the
// "release" environment, logs in with --password-stdin, and lower-cases the registry path.
func releaseProblems(name string, content []byte) []string {
	wf, err := parseWorkflow(name, content)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	report := func(n *yaml.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s:%d: %s", name, n.Line, fmt.Sprintf(format, args...)))
	}
	registryEnv := []string{"RELEASE_REGISTRY", "RELEASE_CHART_REPO"}
	checkEnv := func(where string, env *yaml.Node) {
		for _, kv := range entries(env) {
			if slices.Contains(registryEnv, kv[0].Value) {
				report(kv[0], "%s sets %s in env: from the repository name as it is; OCI paths are lower-case: write it to $GITHUB_ENV from \"${GITHUB_REPOSITORY,,}\"", where, kv[0].Value)
			}
		}
	}
	checkEnv("the workflow", mapping(wf, "env"))
	publishes, lowered := 0, false
	eachJob(wf, func(key, job *yaml.Node, steps []*yaml.Node) {
		id := key.Value
		checkEnv("job "+id, mapping(job, "env"))
		releases := false
		for _, step := range steps {
			checkEnv("a step of job "+id, mapping(step, "env"))
			r := mapping(step, "run")
			if r == nil {
				continue
			}
			if strings.Contains(r.Value, "releaseAll") {
				releases = true
			}
			if strings.Contains(r.Value, "docker login") && (!strings.Contains(r.Value, "--password-stdin") ||
				passwordFlag.MatchString(r.Value)) {
				report(r, "job %s logs in to the registry with the password on the command line; pipe it from env: into `docker login --password-stdin`", id)
			}
			for _, v := range registryEnv {
				if strings.Contains(r.Value, v+"=") && strings.Contains(r.Value, "${GITHUB_REPOSITORY,,}") && strings.Contains(r.Value, "$GITHUB_ENV") {
					lowered = true
				}
			}
		}
		if !releases {
			return
		}
		publishes++
		env := mapping(job, "environment")
		if env != nil && env.Kind == yaml.MappingNode {
			env = mapping(env, "name")
		}
		if env == nil || env.Value != "release" {
			report(key, "job %s publishes a release outside the \"release\" environment; set `environment: release` (its required reviewers approve each run)", id)
		}
	})
	if publishes == 0 {
		out = append(out, name+": no job runs releaseAll")
	}
	if !lowered {
		out = append(out, name+": no step writes the lower-cased registry path (RELEASE_REGISTRY=ghcr.io/${GITHUB_REPOSITORY,,}) to $GITHUB_ENV")
	}
	return out
}

func TestWorkflowsPassActionlint(t *testing.T) {
	root := repoRoot(t)
	for _, p := range actionlintProblems(t, root, workflows(t, root)) {
		t.Error(p)
	}
}

func TestWorkflowsPinActionsAndKeepExpressionsOutOfScripts(t *testing.T) {
	root := repoRoot(t)
	for _, f := range workflows(t, root) {
		content, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range policyProblems(filepath.Base(f), content) {
			t.Error(p)
		}
	}
}

func TestReleaseWorkflowIsGuarded(t *testing.T) {
	f := filepath.Join(repoRoot(t), ".github", "workflows", "release.yml")
	content, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range releaseProblems("release.yml", content) {
		t.Error(p)
	}
}

// brokenWorkflow has mistakes actionlint must catch: an unknown event filter, a job that needs a
// job that does not exist, a step that both runs and uses, and an expression on a context property
// that does not exist.
const brokenWorkflow = `name: broken
on:
  push:
    branch: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    needs: build
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        run: echo both
      - run: echo "$REF"
        env:
          REF: ${{ github.no_such_property }}
`

func TestActionlintFailsABrokenWorkflow(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, ".github", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.yml"), []byte(brokenWorkflow), 0o644); err != nil {
		t.Fatal(err)
	}
	problems := actionlintProblems(t, root, []string{".github/workflows/broken.yml"})
	t.Logf("actionlint on the broken workflow:\n%s", strings.Join(problems, "\n"))
	for _, want := range []string{
		`unexpected key "branch" for "push" section`,  // on.push.branch (branches)
		`job "test" needs job "build"`,                // needs a job that does not exist
		`unexpected key "uses" for step to run shell`, // a step cannot do both
		`property "no_such_property" is not defined`,  // github context
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("actionlint did not report %q", want)
		}
	}
}

// unguardedRelease is the release workflow as it was before it was tightened: actions by moving
// tags, the token inline in docker login, the registry path from the repository name as it is,
// no environment.
const unguardedRelease = `name: release
on:
  push:
    tags: ["v*"]
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@0aaccfd # v5.4.0
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02
      - uses: docker://alpine:3
      - uses: ./.github/actions/local
      - name: Registry login
        run: echo "${{ secrets.GITHUB_TOKEN }}" | docker login ghcr.io -u "${{ github.actor }}" --password-stdin
      - name: Old login
        env:
          TOKEN: ${{ secrets.GITHUB_TOKEN }}
        run: docker login ghcr.io -u me -p "$TOKEN"
      - name: Release
        env:
          RELEASE_REGISTRY: ghcr.io/${{ github.repository }}
        run: go run mage.go releaseAll
      - name: Tag
        run: echo ${{ github.ref_name }}
`

func TestWorkflowChecksFailAnUnguardedRelease(t *testing.T) {
	policy := policyProblems("release.yml", []byte(unguardedRelease))
	release := releaseProblems("release.yml", []byte(unguardedRelease))
	t.Logf("problems:\n%s", strings.Join(append(policy, release...), "\n"))
	want := []struct {
		problems []string
		has      string
	}{
		{policy, `release.yml:9: job release step 1 uses "actions/checkout@v4": pin it by the full 40-hex commit SHA`},
		{policy, `release.yml:10: job release step 2 uses "actions/setup-go@0aaccfd": pin it`},
		{policy, `release.yml:11: job release step 3 uses "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02" without the release`},
		{policy, `release.yml:12: job release step 4 uses "docker://alpine:3": pin the image`},
		{policy, `release.yml:15: job release step "Registry login" writes a secret into its run: script`},
		{policy, `release.yml:25: job release step "Tag" splices a ${{ }} expression`},
		{release, `release.yml:19: job release logs in to the registry with the password on the command line`},
		{release, `release.yml:22: a step of job release sets RELEASE_REGISTRY in env:`},
		{release, `release.yml:6: job release publishes a release outside the "release" environment`},
		{release, `release.yml: no step writes the lower-cased registry path`},
	}
	for _, w := range want {
		if !slices.ContainsFunc(w.problems, func(p string) bool { return strings.HasPrefix(p, w.has) }) {
			t.Errorf("no problem starts with %q", w.has)
		}
	}
	if n := len(policy) + len(release); n != len(want) {
		t.Errorf("%d problems, want %d (the local action needs no pin)", n, len(want))
	}
}
