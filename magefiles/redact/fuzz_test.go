package redact_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// FuzzRedactor: whatever the secret and the text, String and Writer do not panic, and a secret
// without "*" (the mask) or a line break never survives in what String returns or, written
// whole, in what Writer writes.
func FuzzRedactor(f *testing.F) {
	for _, c := range [][2]string{
		{"hunter22", "login hunter22 %68unter22 aHVudGVyMjI="},
		{"p@ss w/rd", "p%40ss+w%2Frd\ncEBzcyB3L3Jk\n  dXNlcjpwQHNz\nIHcvcmQ=\n"},
		{"%%", "%25%25 %%25 %"},
		{"a", "aaaa\r\nYQ==\r\n"},
	} {
		f.Add(c[0], c[1], false)
	}
	f.Fuzz(func(t *testing.T, secret, text string, guessed bool) {
		r := redact.New()
		if guessed {
			r.AddGuessed(secret)
		} else {
			r.Add(secret)
		}
		out := r.String(text)
		var b bytes.Buffer
		w := r.Writer(&b)
		w.Write([]byte(text))
		w.Flush()
		if secret == "" || strings.ContainsAny(secret, "*\r\n") || !r.Has(secret) {
			return
		}
		if strings.Contains(out, secret) || strings.Contains(b.String(), secret) {
			t.Fatalf("%q survives: String %q, Writer %q", secret, out, b.String())
		}
	})
}
