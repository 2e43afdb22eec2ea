package pipeline

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestShellFormContexts runs scripts whose references stand in every quoting context with bash
// (and, for POSIX scripts, sh): each value arrives unchanged, as one word where it stands outside
// quotes and as no word when empty there, and none of its shell syntax runs.
func TestShellFormContexts(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	v := "x  *  '\"$(touch " + marker + ")`touch " + marker + "`\\ $HOME;\n\tend"
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=/home/t", "V=" + v, "N=41", "E="}
	cases := []struct {
		name, script, want string
		bashOnly           bool
	}{
		{"unquoted", `printf '[%s]\n' ${env!V}`, "[" + v + "]\n", false},
		{"unquoted empty adds no word", `printf '[%s]\n' a ${env!E} b`, "[a]\n[b]\n", false},
		{"double quotes", `printf '[%s]\n' "<${env!V}>"`, "[<" + v + ">]\n", false},
		{"double quotes empty", `printf '[%s]\n' "${env!E}"`, "[]\n", false},
		{"joined to quotes", `printf '[%s]\n' "a"${env!V}"b"`, "[a" + v + "b]\n", false},
		{"escaped quotes", `printf '[%s]\n' "\"${env!V}\""`, "[\"" + v + "\"]\n", false},
		{"single quotes", `printf '[%s]\n' '<${env!V}>'`, "[<" + v + ">]\n", false},
		{"ansi-c quotes", `printf '[%s]\n' $'<\t${env!V}\t>'`, "[<\t" + v + "\t>]\n", true},
		{"command substitution", `printf '[%s]\n' "$(printf '%s' ${env!V})"`, "[" + v + "]\n", false},
		{"nested substitution", `printf '[%s]\n' $(printf '%s' "$(echo ${env!N})")`, "[41]\n", false},
		{"backquotes", "printf '[%s]\\n' \"`printf %s ${env!V}`\"", "[" + v + "]\n", false},
		{"parameter default", `printf '[%s]\n' ${UNSET_X:-${env!V}}`, "[" + v + "]\n", false},
		{"parameter default quoted", `printf '[%s]\n' "${UNSET_X:-${env!V}}"`, "[" + v + "]\n", false},
		{"arithmetic", `echo $(( ${env!N} + 1 ))`, "42\n", false},
		{"arithmetic command", `(( ${env!N} > 40 )) && echo big`, "big\n", true},
		{"test", `[[ ${env!V} == "x  *"* ]] && echo yes`, "yes\n", true},
		{"assignment", "x=${env!V}\nprintf '[%s]\\n' \"$x\"", "[" + v + "]\n", false},
		{"continued line", "printf '[%s]\\n' \\\n  ${env!V}", "[" + v + "]\n", false},
		{"here-string", `cat <<< ${env!V}`, v + "\n", true},
		{"here-document", "cat <<EOF\n<${env!V}> $HOME\nEOF\necho after ${env!N}", "<" + v + "> /home/t\nafter 41\n", false},
		{"here-document, tabs", "cat <<-EOF\n\t${env!N}\n\tEOF\necho after", "41\nafter\n", false},
		{"two here-documents", "cat <<A; cat <<'B'\n${env!N}\nA\n$HOME\nB\necho ${env!N}", "41\n$HOME\n41\n", false},
		{"quoted here-document then a value", "cat <<'EOF'\n$HOME ${x}\nEOF\nprintf '[%s]\\n' ${env!V}", "$HOME ${x}\n[" + v + "]\n", false},
		{"comment", "# uses ${env!V} (\nprintf '[%s]\\n' ${env!N}", "[41]\n", false},
		{"escaped reference syntax", `printf '[%s]\n' '$${env!V}'`, "[${env!V}]\n", false},
		{"hash inside a word", `printf '[%s]\n' a#${env!N}`, "[a#41]\n", false},
	}
	shells := map[string][]string{"bash": {"bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"}, "sh": {"sh", "-ec"}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			script, values := form(t, tc.script, env)
			for name, sh := range shells {
				if name == "sh" && tc.bashOnly {
					continue
				}
				if _, err := exec.LookPath(sh[0]); err != nil {
					t.Logf("no %s: %v", sh[0], err)
					continue
				}
				cmd := exec.Command(sh[0], append(sh[1:], script)...)
				cmd.Env, cmd.Dir = append(append([]string(nil), env...), values...), dir
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil || string(out) != tc.want {
					t.Errorf("%s -c %q:\n got %q (%v %s)\nwant %q", name, script, out, err, stderr.String(), tc.want)
				}
				if strings.Contains(script, "touch") {
					t.Errorf("%s: the value is in the script: %q", name, script)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("the value ran as shell")
			}
		})
	}
}

// form parses s as a run: script and returns its shell form and the values of its env! references.
func form(t *testing.T, s string, env []string) (string, []string) {
	t.Helper()
	p := &exprParser{s: s, lineAt: func(int) int { return 1 }}
	tp := p.parseString()
	if tp == nil {
		t.Fatalf("%q: %+v", s, p.errs)
	}
	sc, errs := shellForm(tp.expr)
	if len(errs) > 0 {
		t.Fatalf("%q: %+v", s, errs)
	}
	var values []string
	for i, r := range sc.refs {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == r.name {
				values = append(values, valueVar(i+1)+"="+v)
			}
		}
	}
	if len(values) != len(sc.refs) {
		t.Fatalf("test bug: %q refers to variables %q does not set", s, env)
	}
	return sc.text, values
}

// TestShellFormRefuses: where the shell would not expand a reference, Load says so.
func TestShellFormRefuses(t *testing.T) {
	for script, want := range map[string]string{
		`echo \${env!V}`:                       `a backslash before ${env!V} would stop the shell from expanding its value`,
		`echo "a\${env!V}"`:                    `a backslash before ${env!V}`,
		"cat <<'EOF'\n${env!V}\nEOF\n":         `${env!V} is in a here-document with a quoted delimiter (<<'EOF')`,
		"cat <<\\EOF\nx\n${env!V}\nEOF\n":      `${env!V} is in a here-document with a quoted delimiter (<<'EOF')`,
		"cat <<E${env!V}\nx\nE\n":              `${env!V} is part of a here-document delimiter`,
		"cat <<\"EOF\"\n\t${sh!echo x}\nEOF\n": `${sh!echo x} is in a here-document with a quoted delimiter`,
	} {
		p := &exprParser{s: script, lineAt: func(int) int { return 7 }}
		tp := p.parseString()
		if tp == nil {
			t.Fatalf("%q: %+v", script, p.errs)
		}
		_, errs := shellForm(tp.expr)
		if len(errs) != 1 || !strings.Contains(errs[0].problem, want) || errs[0].line != 7 || errs[0].fix == "" {
			t.Errorf("%q: errors %+v, want one saying %q", script, errs, want)
		}
	}
}
