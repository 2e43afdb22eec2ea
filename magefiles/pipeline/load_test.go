package pipeline_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// environ is a small, fixed environment for tests: enough to find the shell and commands.
func environ(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LC_ALL=C"}, extra...)
}

// writeRoot makes a repository root holding deploy/release.yaml.
func writeRoot(t *testing.T, release string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, pipeline.DefaultFile), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

const good = `vars:
  go_flags: -count=1
  commit: sh!echo abc123
verify:
  - name: service tests
    kind: shell
    run: echo ${var!go_flags} ${var!commit}
    env: {CGO_ENABLED: "0"}
  - name: version printed
    run: test -n "${sh!echo 1.2.3}"
    after: [service tests]
`

func TestLoadValid(t *testing.T) {
	root := writeRoot(t, good)
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()))
	if err != nil {
		t.Fatal(err)
	}
	nodes := p.Nodes()
	if len(nodes) != 2 || nodes[0].Component != pipeline.Component || nodes[0].Goal.String() != "service tests" ||
		len(nodes[1].After) != 1 || nodes[1].After[0] != nodes[0] {
		t.Fatalf("unexpected nodes: %+v", nodes)
	}
	if got := strings.Join(p.Names(), ","); got != "service tests,version printed" {
		t.Fatalf("names = %q", got)
	}
}

// TestValidationErrors checks each bad file against its golden message: the file, the line, the fix.
func TestValidationErrors(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("test bug: %q not in the file", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := []struct {
		name, yaml string
		env        []string
	}{
		{"bad-yaml", "verify: [\n", nil},
		{"not-a-mapping", "- name: x\n", nil},
		{"empty", "", nil},
		{"missing-verify", "vars: {a: b}\n", nil},
		{"unknown-key", edit("    after: [service tests]", "    afterr: [service tests]"), nil},
		{"unknown-top-key", "verfiy: []\n" + good, nil},
		{"duplicate-key", edit("    kind: shell\n", "    kind: shell\n    kind: shell\n"), nil},
		{"unknown-var", edit("${var!go_flags}", "${var!go_flag}"), nil},
		{"unknown-var-no-vars", "verify:\n  - name: a\n    run: echo ${var!x}\n", nil},
		{"unknown-var-in-block", edit("    run: echo ${var!go_flags} ${var!commit}\n",
			"    run: |\n      echo one\n      echo ${var!comit}\n"), nil},
		{"unknown-var-in-var", edit("  go_flags: -count=1\n", "  go_flags: ${var!flags} -count=1\n"), nil},
		{"var-cycle", edit("  go_flags: -count=1\n", "  go_flags: ${var!other}\n  other: var!go_flags\n"), nil},
		{"unknown-source", edit("${var!commit}", "${evn!HOME}"), nil},
		{"bad-env-name", edit("${var!commit}", "${env!HOME-DIR}"), nil},
		{"unterminated-reference", edit("${var!commit}", "${var!commit"), nil},
		{"empty-sh", edit("sh!echo abc123", "sh!   "), nil},
		{"failing-sh", edit("sh!echo abc123", `"sh!echo \"no luck with $DEPLOY_TOKEN\" >&2; exit 3"`),
			[]string{"DEPLOY_TOKEN=tok-0123456789"}},
		{"unset-env", edit("-count=1", "env!SHIPLANE_UNSET_FOR_TEST"), nil},
		{"unknown-kind", edit("kind: shell", "kind: shel"), nil},
		{"unknown-kind-far", edit("kind: shell", "kind: docker-compose"), nil},
		{"cycle", edit("    env: {CGO_ENABLED: \"0\"}\n", "    env: {CGO_ENABLED: \"0\"}\n    after: [version printed]\n"), nil},
		{"self-cycle", edit("after: [service tests]", "after: [version printed]"), nil},
		{"unknown-after", edit("after: [service tests]", "after: [service test]"), nil},
		{"duplicate-name", good + "  - name: service tests\n    run: echo again\n", nil},
		{"missing-name", good + "  - run: echo anonymous\n", nil},
		{"missing-run", good + "  - name: nothing to do\n    kind: shell\n", nil},
		{"empty-run", good + "  - name: empty\n    run: ${env!SHIPLANE_UNSET_FOR_TEST?}\n", nil},
		{"custom-kind-invalid", good + "  - name: needs a file\n    kind: require-file\n    with: {}\n", nil},
		{"bad-env-key", edit("CGO_ENABLED", "CGO-ENABLED"), nil},
		{"wrong-type", edit(`env: {CGO_ENABLED: "0"}`, "env: [CGO_ENABLED]"), nil},
		{"escaped-reference", edit("run: echo ${var!go_flags}", `run: echo \${var!go_flags}`), nil},
		{"quoted-heredoc", edit("    run: echo ${var!go_flags} ${var!commit}\n",
			"    run: |\n      cat <<'EOF'\n      ${var!commit}\n      EOF\n"), nil},
		{"escaped-reference-in-sh", edit("sh!echo abc123", `sh!echo \${env!HOME}`), nil},
		{"reserved-env-key", edit("CGO_ENABLED", "SHIPLANE_VALUE_1"), nil},
		{"bad-secret", edit("sh!echo abc123", "secret!echo abc123"), nil},
		{"bad-secret-inline", edit("${var!commit}", "${secret!secret!env!HOME}"), nil},
		{"unknown-builtin", good + "publish: [images, chart, component-tags, github-release]\n", nil},
		{"missing-builtin", good + "publish: [images, charts, github-release]\n", nil},
		{"builtin-order", good + "publish: [charts, images, component-tags, github-release]\n", nil},
		{"effectful-check", good + "after_publish:\n  - name: smoke\n    run: \"true\"\n    effectful: true\n", nil},
		{"after-other-section", good + "after_publish:\n  - name: smoke\n    run: \"true\"\n    after: [service tests]\n", nil},
		{"not-a-boolean", good + "after_publish:\n  - name: smoke\n    run: \"true\"\n    optional: sometimes\n", nil},
		{"after-builtin", good + "publish:\n  - images\n  - name: signed\n    run: \"true\"\n    after: [images]\n  - charts\n  - component-tags\n  - github-release\n", nil},
		{"after-publish-unknown-kind", good + "after_publish:\n  - name: notify\n    kind: webhok\n", nil},
		// Indentation and syntax: the line to correct and what was expected there.
		{"indented-under-goal", good + "    after_publish:\n      - name: smoke\n        run: \"true\"\n", nil},
		{"key-indented-less", edit("    run: test -n", "   run: test -n"), nil},
		{"key-indented-more", edit("    after: [service tests]", "      after: [service tests]"), nil},
		{"tab", edit("    after: [service tests]", "\tafter: [service tests]"), nil},
		{"missing-colon", edit("    kind: shell\n", "    kind shell\n"), nil},
		{"unclosed-quote", edit("    run: test -n \"${sh!echo 1.2.3}\"", "    run: \"test -n"), nil},
		{"unclosed-bracket", edit("after: [service tests]", "after: [service tests"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, tc.yaml)
			_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ(tc.env...)))
			if err == nil {
				t.Fatal("Load accepted a bad file")
			}
			var pe *pipeline.Error
			if !errors.As(err, &pe) || pe.File != pipeline.DefaultFile {
				t.Fatalf("error is not a *pipeline.Error naming the file: %v", err)
			}
			got := err.Error() + "\n"
			for _, e := range tc.env {
				if _, v, _ := strings.Cut(e, "="); strings.Contains(got, v) {
					t.Errorf("the error shows the secret %q: %s", v, got)
				}
			}
			golden.Check(t, tc.name, got)
		})
	}
}

func TestFailingShIsACommandError(t *testing.T) {
	root := writeRoot(t, "vars:\n  v: sh!exit 42\nverify:\n  - name: a\n    run: echo ${var!v}\n  - name: b\n    run: echo ${var!v}\n")
	_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()))
	var ce *pipeline.CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 42 || ce.Command != "exit 42" {
		t.Fatalf("err = %#v", err)
	}
	// A var used twice fails once.
	var errs pipeline.Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("want one error, got %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	_, err := pipeline.Load(t.Context(), t.TempDir(), pipeline.DefaultFile)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), pipeline.DefaultFile) {
		t.Fatalf("err = %v", err)
	}
}

// TestErrorsHaveALocation: a problem with a line, and a failed goal, are found through errors.As by
// an interface of the caller's own (as the GitHub Actions annotations find them).
func TestErrorsHaveALocation(t *testing.T) {
	type located interface{ Location() (string, int) }
	root := writeRoot(t, strings.Replace(good, "    kind: shell\n", "    kind shell\n", 1))
	_, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()))
	var loc located
	if !errors.As(err, &loc) {
		t.Fatalf("%v: no Location", err)
	}
	if f, l := loc.Location(); f != pipeline.DefaultFile || l != 6 {
		t.Errorf("Location() = %s:%d, want %s:6", f, l, pipeline.DefaultFile)
	}
	var ge error = &pipeline.GoalError{Goal: "g", File: pipeline.DefaultFile, Line: 9, Err: errors.New("failed")}
	if !errors.As(errors.Join(errors.New("running"), ge), &loc) {
		t.Fatal("a GoalError has no Location")
	}
	if f, l := loc.Location(); f != pipeline.DefaultFile || l != 9 {
		t.Errorf("GoalError Location() = %s:%d", f, l)
	}
}
