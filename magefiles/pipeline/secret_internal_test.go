package pipeline

import "testing"

// FuzzExpr: any scalar parses to a template or to errors, never a panic.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{"env!A?${var!b}", "${sh!echo {${var!x}}}", "$${env!X} ${HOME}", "${", "${a!", "sh!", "-----BEGIN PGP MESSAGE-----\n",
		"cat <<-'E' <<F\n${env!A}\nE\n${secret!sh!x}\nF\n", "'${env!A}' $'\\'${var!b}' \"$(`${env!C}`)\" # ${env!D}", "\\${env!A} <<${env!B}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, valuePos := range []bool{true, false} {
			p := &exprParser{s: s, lineAt: func(int) int { return 1 }}
			var tp *template
			if valuePos {
				tp = p.parseValue()
			} else {
				tp = p.parseString()
			}
			if tp == nil && len(p.errs) == 0 {
				t.Fatalf("%q: no template and no error", s)
			}
			if tp != nil && !valuePos {
				if sc, _ := shellForm(tp.expr); sc == nil {
					t.Fatalf("%q: no shell form", s)
				}
			}
		}
	})
}
