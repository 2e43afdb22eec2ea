package pipeline

import "testing"

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "github_token": true, "DB_PASSWORD": true, "api_key": true, "APIKEY": true,
		"SSH-PRIVATE-KEY": true, "client.secret": true, "GPG_PASSPHRASE": true, "AWS_CREDENTIALS": true,
		"PATH": false, "HOME": false, "KEYBOARD": false, "GOFLAGS": false, "KEY_ID": true, "version": false,
	} {
		if got := looksSecret(name); got != want {
			t.Errorf("looksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestGuessedSecretsSkipNoise(t *testing.T) {
	r := NewRedactor()
	for _, v := range []string{"1", "abc", "true", "Off", "yes"} {
		addGuessed(r, v)
	}
	addGuessed(r, "real-value")
	if r.Len() != 1 || !r.Has("real-value") {
		t.Fatalf("registered %d", r.Len())
	}
}

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
