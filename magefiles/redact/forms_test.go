package redact_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// encoding is one way a secret travels: enc encodes prefix+secret+suffix and returns the text
// and, for each of its bytes, whether the secret alone determines it.
type encoding struct {
	name   string
	binary bool // the prefix and suffix may be any bytes
	enc    func(prefix, secret, suffix []byte) (text []byte, determined []bool)
}

// escaped: Go escapes byte by byte, so the escaped secret sits whole between its neighbours'.
func escaped(name string, esc func(string) string) encoding {
	return encoding{name, false, func(prefix, secret, suffix []byte) ([]byte, []bool) {
		p, s, x := esc(string(prefix)), esc(string(secret)), esc(string(suffix))
		return []byte(p + s + x), span(len(p)+len(s)+len(x), len(p), len(p)+len(s))
	}}
}

// base64Of encodes with e, wrapped every width characters (0: not wrapped) with eol, each line
// after indent. Character i carries bits [6i, 6i+6) of the data, so the secret alone determines
// characters ceil(8p/6) up to floor(8(p+n)/6), p being the length of the prefix and n the secret's.
func base64Of(name string, e *base64.Encoding, width int, eol, indent string) encoding {
	return encoding{name, true, func(prefix, secret, suffix []byte) ([]byte, []bool) {
		data := append(append(append([]byte(nil), prefix...), secret...), suffix...)
		s := e.EncodeToString(data)
		p, n := len(prefix), len(secret)
		det := span(len(s), (8*p+5)/6, 8*(p+n)/6)
		if width == 0 {
			return []byte(s), det
		}
		var text []byte
		var tdet []bool
		for i := 0; i < len(s); i += width {
			j := min(i+width, len(s))
			text = append(append(text, indent...), s[i:j]...)
			tdet = append(append(tdet, make([]bool, len(indent))...), det[i:j]...)
			if j < len(s) {
				text = append(text, eol...)
				tdet = append(tdet, make([]bool, len(eol))...)
			}
		}
		return text, tdet
	}}
}

func span(n, from, to int) []bool {
	d := make([]bool, n)
	for i := from; i < to; i++ {
		d[i] = true
	}
	return d
}

var encodings = []encoding{
	{"raw", false, func(prefix, secret, suffix []byte) ([]byte, []bool) {
		t := append(append(append([]byte(nil), prefix...), secret...), suffix...)
		return t, span(len(t), len(prefix), len(prefix)+len(secret))
	}},
	escaped("query escaped", url.QueryEscape),
	escaped("path escaped", url.PathEscape),
	base64Of("base64", base64.StdEncoding, 0, "", ""),
	base64Of("base64 URL", base64.URLEncoding, 0, "", ""),
	base64Of("base64 raw", base64.RawStdEncoding, 0, "", ""),
	base64Of("base64 raw URL", base64.RawURLEncoding, 0, "", ""),
	base64Of("MIME (76, CRLF)", base64.StdEncoding, 76, "\r\n", ""),
	base64Of("PEM (64)", base64.StdEncoding, 64, "\n", ""),
	base64Of("indented URL-safe (76)", base64.RawURLEncoding, 76, "\n", "    "),
}

// Secrets are drawn from characters every encoding treats differently (space, "/", "+", "%",
// "?", "&", "=", ":", "@", two- and three-byte UTF-8), never "*" (the mask) or a line break. The
// text around an encoded secret is drawn from characters no encoding produces.
var (
	secretRunes = []rune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 /+?&=%:@~-_.é世")
	fillerRunes = []rune(" \t\n!#$(),;<>[]{}|^\"'")
)

const window = 8

func randomString(rng *rand.Rand, runes []rune, minBytes, maxBytes int) []byte {
	n := minBytes + rng.IntN(maxBytes-minBytes+1)
	var b []byte
	for len(b) < n {
		r := runes[rng.IntN(len(runes))]
		if len(b)+len(string(r)) > n {
			r = 'a'
		}
		b = append(b, string(r)...)
	}
	return b
}

// randomAround returns what travels before or after the secret in one encoding: nothing, a user
// name as in "user:secret" (Basic auth, a Docker config's auth), or random bytes, few (every
// alignment) or up to 100 (wrapped base64 breaks its lines anywhere in the secret).
func randomAround(rng *rand.Rand, printable bool) []byte {
	k := rng.IntN(6)
	switch k {
	case 0:
		return nil
	case 1:
		return []byte("user:")
	}
	n := 1 + rng.IntN(6)
	if k == 5 {
		n = 7 + rng.IntN(94)
	}
	if printable {
		return randomString(rng, []rune("abcxyzABC019 -:@/"), n, n)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	return b
}

// TestEncodedSecretsNeverSurvive is a property test: with a fixed seed, so every run checks the
// same cases. For each of 400 random secrets of 8 to 80 bytes, registered with Add or AddGuessed,
// and each encoding (raw, query and path escaped, base64 in both alphabets padded or not, base64
// wrapped at 76 columns with CRLF as MIME does, at 64 as PEM does, and indented), it encodes a
// random prefix (none, "user:", 1 to 6 or 7 to 100 bytes), the secret and a random suffix
// (the same, or a newline), puts random filler around it, and checks:
//
//  1. Writer, given the text in random pieces, writes exactly what String returns;
//  2. no window of 8 characters of D, the characters of the encoding the secret alone determines
//     (the escaped secret; for base64 the characters whose six bits all come from the secret,
//     line breaks aside), is in the output.
//
// The assertion is exact: masking replaces spans of the text with "***" and D never holds "*", so
// a window of the output that equals a window of D was copied from the text unchanged; a case is
// drawn again until no window of D occurs in its text except inside D, so any such window found
// in the output is part of D that was not masked. Windows shorter than 8 are not checked: at a
// line break a piece of D that short may remain (Add masks pieces of 4 characters and more,
// AddGuessed pieces of 8 and more; see TestWrappedBase64Pieces).
func TestEncodedSecretsNeverSurvive(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 2026))
	redraws := 0
	for i := 0; i < 400; i++ {
		secret := randomString(rng, secretRunes, 8, 80)
		guessed := i%2 == 1
		r := redact.New()
		if guessed {
			r.AddGuessed(string(secret))
		} else {
			r.Add(string(secret))
		}
		for _, e := range encodings {
			var text []byte
			var dwin map[string]bool
			for {
				prefix, suffix := randomAround(rng, !e.binary), randomAround(rng, !e.binary)
				if rng.IntN(3) == 0 {
					suffix = []byte("\n")
				}
				enc, det := e.enc(prefix, secret, suffix)
				before := randomString(rng, fillerRunes, 0, 20)
				after := randomString(rng, fillerRunes, 0, 20)
				text = append(append(append([]byte(nil), before...), enc...), after...)
				inD := append(append(make([]bool, len(before)), det...), make([]bool, len(after))...)
				dwin = windows(text, inD)
				if !occursOutsideD(text, inD, dwin) {
					break
				}
				redraws++
			}
			name := fmt.Sprintf("secret %d (%q, guessed %v), %s, text %q", i, secret, guessed, e.name, text)
			out := r.String(string(text))
			for w := range dwin {
				if strings.Contains(out, w) {
					t.Errorf("%s:\n%q survives in %q", name, w, out)
					break
				}
			}
			var got bytes.Buffer
			wr := r.Writer(&got)
			for rest := text; len(rest) > 0; {
				n := 1 + rng.IntN(min(len(rest), 40))
				if _, err := wr.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if err := wr.Flush(); err != nil {
				t.Fatal(err)
			}
			if got.String() != out {
				t.Errorf("%s:\nWriter wrote  %q\nString returns %q", name, got.String(), out)
			}
		}
	}
	t.Logf("%d cases drawn again", redraws)
}

// windows returns every window of the determined characters that lies within one run of them.
func windows(text []byte, inD []bool) map[string]bool {
	ws := map[string]bool{}
	for i := 0; i+window <= len(text); i++ {
		if all(inD[i : i+window]) {
			ws[string(text[i:i+window])] = true
		}
	}
	return ws
}

func occursOutsideD(text []byte, inD []bool, ws map[string]bool) bool {
	for i := 0; i+window <= len(text); i++ {
		if ws[string(text[i:i+window])] && !all(inD[i:i+window]) {
			return true
		}
	}
	return false
}

func all(b []bool) bool {
	for _, v := range b {
		if !v {
			return false
		}
	}
	return true
}

// TestBase64AfterAUserName: base64("user:" + secret), as in Basic auth and a Docker config's
// auth, hides every character the secret determines, whatever the length of the user name (so at
// each alignment) and in both alphabets; when the data ends with the secret the last character
// and the padding go too, and when other data follows it the characters that data helps
// determine stay.
func TestBase64AfterAUserName(t *testing.T) {
	const secret = "hunter2-but-longer"
	r := redact.New()
	r.Add(secret)
	for _, user := range []string{"", "u", "us", "usr", "user", "robot$1"} {
		for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			prefix := ""
			if user != "" {
				prefix = user + ":"
			}
			p, n := len(prefix), len(secret)
			lo, hi := (8*p+5)/6, 8*(p+n)/6
			enc := e.EncodeToString([]byte(prefix + secret))
			in := `{"auths":{"ghcr.io":{"auth":"` + enc + `"}}}`
			want := `{"auths":{"ghcr.io":{"auth":"` + enc[:lo] + `***"}}}`
			if got := r.String(in); got != want {
				t.Errorf("user %q: String(%q) = %q, want %q", user, in, got, want)
			}
			// "~" (0x7e) has ones in its top two and top four bits, so no character it shares
			// with the secret is the one the secret alone would end with.
			enc = e.EncodeToString([]byte(prefix + secret + "~"))
			want = enc[:lo] + "***" + enc[hi:]
			if got := r.String(enc); got != want {
				t.Errorf("user %q, data after: String(%q) = %q, want %q", user, enc, got, want)
			}
		}
	}
}

// TestURLEncodedForms: a secret is found however it was URL-encoded: Go's query and path
// escaping, lower-case hex, form encoding, encodeURIComponent, only some bytes escaped.
func TestURLEncodedForms(t *testing.T) {
	const secret = "p@ss w/rd?+&é%!"
	r := redact.New()
	r.Add(secret)
	for _, f := range []string{
		secret,
		url.QueryEscape(secret),              // p%40ss+w%2Frd%3F%2B%26%C3%A9%25%21
		url.PathEscape(secret),               // p@ss%20w%2Frd%3F+&%C3%A9%25%21
		"p%40ss%20w%2frd%3f%2b%26%c3%a9%25!", // lower case, "!" left as encodeURIComponent does
		"p@ss+w/rd?%2B&%C3%A9%!",             // only what a form must escape
		"%70%40%73%73%20%77%2F%72%64%3F%2B%26%C3%A9%25%21", // every byte
	} {
		if got := r.String("a=" + f + "&b"); got != "a=***&b" {
			t.Errorf("%q: got %q", f, got)
		}
	}
	for _, s := range []string{"p%40ss+w%2Frd", "p@ss%20w/rd?+&%C3%A9%25%2", "%%%", "p@ss w/rd?+&e%!"} {
		if got := r.String(s); got != s {
			t.Errorf("String(%q) = %q, want it unchanged", s, got)
		}
	}
}

// TestWrappedBase64Pieces: when base64 is wrapped over lines, the piece of a secret's characters
// that ends a line, begins one or fills one is hidden on its own line, from four characters for
// a declared secret and from eight for a guessed one; shorter pieces stay (they would match
// ordinary text). Line ends may be CRLF and lines indented. Writer, given the text a byte at a
// time, writes what String returns.
func TestWrappedBase64Pieces(t *testing.T) {
	const secret = "0123456789abcdefghijklmnopqrstuv"
	core := base64.RawStdEncoding.EncodeToString([]byte(secret))[:42] // what the secret determines
	before := "QUFB"                                                  // base64 of other data
	for _, c := range []struct {
		guessed bool
		cut     int
		want    string
	}{
		{false, 3, before + core[:3] + "\n***\n"},
		{false, 4, before + "***\n***\n"},
		{false, 38, before + "***\n***\n"},
		{false, 39, before + "***\n" + core[39:] + "\n"},
		{true, 7, before + core[:7] + "\n***\n"},
		{true, 8, before + "***\n***\n"},
		{true, 34, before + "***\n***\n"},
		{true, 35, before + "***\n" + core[35:] + "\n"},
	} {
		r := redact.New()
		if c.guessed {
			r.AddGuessed(secret)
		} else {
			r.Add(secret)
		}
		for _, eol := range []string{"\n", "\r\n"} {
			for _, indent := range []string{"", "  "} {
				in := indent + before + core[:c.cut] + eol + indent + core[c.cut:] + eol
				want := strings.ReplaceAll(c.want, "\n", eol)
				want = indent + strings.Replace(want, eol, eol+indent, 1)
				got := r.String(in)
				if got != want {
					t.Errorf("guessed %v, cut %d: String(%q) = %q, want %q", c.guessed, c.cut, in, got, want)
				}
				var out bytes.Buffer
				w := r.Writer(&out)
				for i := range len(in) {
					w.Write([]byte{in[i]})
				}
				w.Flush()
				if out.String() != got {
					t.Errorf("guessed %v, cut %d: Writer wrote %q, String returns %q", c.guessed, c.cut, out.String(), got)
				}
			}
		}
	}

	// A key wrapped as PEM: every line that holds only the secret's characters is hidden.
	key := strings.Repeat("k3y-material/", 20)
	enc := base64.StdEncoding.EncodeToString([]byte(key))
	var pem strings.Builder
	pem.WriteString("-----BEGIN KEY-----\n")
	for i := 0; i < len(enc); i += 64 {
		pem.WriteString(enc[i:min(i+64, len(enc))] + "\n")
	}
	pem.WriteString("-----END KEY-----\n")
	r := redact.New()
	r.Add(key)
	got := r.String(pem.String())
	if want := "-----BEGIN KEY-----\n" + strings.Repeat("***\n", (len(enc)+63)/64) + "-----END KEY-----\n"; got != want {
		t.Errorf("PEM: got\n%s\nwant\n%s", got, want)
	}
}

// TestGuessedSecretsShortFormsStay: a guessed secret's base64 forms shorter than eight
// characters are not hidden (a value guessed secret by its name may be an ordinary word), a
// declared secret's are from four.
func TestGuessedSecretsShortFormsStay(t *testing.T) {
	const value = "wxyz"
	// Each holds, inside other base64, the characters "wxyz" determines at one alignment.
	shifted := map[string]string{"QUFBd3h5eg": "QUFB***", "QUF3eHl6": "QUF***", "QXd4eXo": "QX***"}
	guessed, declared := redact.New(), redact.New()
	guessed.AddGuessed(value)
	declared.Add(value)
	for s, masked := range shifted {
		if got := guessed.String(s); got != s {
			t.Errorf("guessed: String(%q) = %q, want it unchanged", s, got)
		}
		if got := declared.String(s); got != masked {
			t.Errorf("declared: String(%q) = %q, want %q", s, got, masked)
		}
	}
	if got := guessed.String("d3h5eg== " + value); got != "*** ***" {
		t.Errorf("guessed: %q", got)
	}
}
