package redact_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/redact"
)

func TestRedactorForms(t *testing.T) {
	const secret = "p@ss w/rd?>~&"
	r := redact.New()
	r.Add(secret)
	forms := []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.URLEncoding.EncodeToString([]byte(secret)),
		base64.RawStdEncoding.EncodeToString([]byte(secret)),
		base64.RawURLEncoding.EncodeToString([]byte(secret)),
		url.QueryEscape(secret),
		url.PathEscape(secret),
	}
	for _, f := range forms {
		if got := r.String("a " + f + " b"); got != "a *** b" {
			t.Errorf("%q: got %q", f, got)
		}
	}
}

func TestRedactorMergesOverlaps(t *testing.T) {
	r := redact.New()
	r.Add("xab", "abcdef")
	if got := r.String("1xabcdef2 abcdef xab"); got != "1***2 *** ***" {
		t.Fatalf("got %q", got)
	}
}

func TestRedactorMultiLineSecret(t *testing.T) {
	r := redact.New()
	r.Add("-----BEGIN KEY-----\nAAAABBBBCCCC\nxy\n-----END KEY-----\n")
	got := r.String("line AAAABBBBCCCC end\nxy stays\n")
	if got != "line *** end\nxy stays\n" {
		t.Fatalf("got %q", got)
	}
}

func TestNilAndEmptyRedactor(t *testing.T) {
	var r *redact.Redactor
	if r.String("a") != "a" || r.Len() != 0 {
		t.Fatal("nil redactor changed text")
	}
	r.Add("x") // no panic
	e := redact.New()
	e.Add("")
	if e.Len() != 0 || e.String("abc") != "abc" {
		t.Fatal("empty secret registered")
	}
}

// TestWriterSplitsNeverLeak writes a secret in every possible split, and in byte-by-byte pieces.
func TestWriterSplitsNeverLeak(t *testing.T) {
	const secret = "s3cr3t-value"
	text := "before " + secret + " after\nnext " + base64.StdEncoding.EncodeToString([]byte(secret)) + "\ntail " + secret
	r := redact.New()
	r.Add(secret)
	want := "before *** after\nnext ***\ntail ***"
	for cut := 0; cut <= len(text); cut++ {
		var out bytes.Buffer
		w := r.Writer(&out)
		w.Write([]byte(text[:cut]))
		w.Write([]byte(text[cut:]))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("cut %d: got %q", cut, out.String())
		}
	}
	var out bytes.Buffer
	w := r.Writer(&out)
	for i := 0; i < len(text); i++ {
		w.Write([]byte{text[i]})
	}
	w.Flush()
	if out.String() != want {
		t.Fatalf("bytewise: got %q", out.String())
	}
}

// TestWriterLongLine: a partial line past the hold limit is written, still masked.
func TestWriterLongLine(t *testing.T) {
	const secret = "0123456789abcdef"
	r := redact.New()
	r.Add(secret)
	var out bytes.Buffer
	w := r.Writer(&out)
	chunk := strings.Repeat(".", 1000) + secret[:7]
	for i := 0; i < 100; i++ {
		w.Write([]byte(chunk))
		w.Write([]byte(secret[7:]))
	}
	if out.Len() == 0 {
		t.Fatal("nothing written before the line ended")
	}
	w.Flush()
	if strings.Contains(out.String(), secret[:7]) || strings.Count(out.String(), "***") != 100 {
		t.Fatalf("leaked or lost: %d masks", strings.Count(out.String(), "***"))
	}
}

// TestWriterPassesLinesPromptly: complete lines are written at once, a partial line waits.
func TestWriterPassesLinesPromptly(t *testing.T) {
	var out bytes.Buffer
	w := redact.New().Writer(&out)
	w.Write([]byte("one\ntw"))
	if out.String() != "one\n" {
		t.Fatalf("got %q", out.String())
	}
	w.Write([]byte("o\r"))
	if out.String() != "one\ntwo\r" {
		t.Fatalf("got %q", out.String())
	}
}

func TestRedactorErrorKeepsChain(t *testing.T) {
	r := redact.New()
	r.Add("hunter22")
	base := errors.New("base")
	err := r.Error(fmt.Errorf("login with hunter22: %w", base))
	if err.Error() != "login with ***: base" || !errors.Is(err, base) {
		t.Fatalf("err = %v", err)
	}
	if r.Error(nil) != nil {
		t.Fatal("nil error wrapped")
	}
}

// TestRedactorCoversGitHubForms: a token as git and GitHub send it, in Basic auth as the password
// of x-access-token, and after "Bearer".
func TestRedactorCoversGitHubForms(t *testing.T) {
	tok := "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	r := redact.New()
	r.Add(tok, "")
	in := fmt.Sprintf("a %s b %s c %s d %s e %s", tok,
		base64.StdEncoding.EncodeToString([]byte(tok)),
		base64.URLEncoding.EncodeToString([]byte("x-access-token:"+tok)),
		base64.RawStdEncoding.EncodeToString([]byte(tok)),
		"Bearer "+tok)
	out := r.String(in)
	if strings.Contains(out, tok) || strings.Count(out, redact.Mask) != 5 {
		t.Fatalf("redacted %q", out)
	}
	if r.Len() != 1 || !r.Has(tok) || r.Has("") {
		t.Fatalf("registered %d", r.Len())
	}
}

// TestCredentialShapes: credentials nobody registered are masked by their shape, ordinary
// references are left alone.
func TestCredentialShapes(t *testing.T) {
	r := redact.New()
	for _, c := range []struct{ in, leak, want string }{
		{`Get "https://robot:hunter2@registry.example/v2/": EOF`, "hunter2", `Get "https://***@registry.example/v2/": EOF`},
		{`Get "https://robot@registry.example/v2/": EOF`, "robot", `Get "https://***@registry.example/v2/": EOF`},
		{`parsing "robot:hunter2@registry.example/core:1": invalid`, "hunter2", `parsing "***@registry.example/core:1": invalid`},
		{`GET https://auth.example/token?scope=x&access_token=hunter2: 401`, "hunter2", `GET https://auth.example/token?scope=x&access_token=*** 401`},
		{`Authorization: Basic cm9ib3Q6aHVudGVyMg==`, "cm9ib3Q6aHVudGVyMg==", `Authorization: Basic ***`},
		{`header: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig`, "eyJhbGciOiJIUzI1NiJ9", `header: Bearer ***`},
	} {
		got := r.String(c.in)
		if strings.Contains(got, c.leak) || got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, s := range []string{
		"pushing to 127.0.0.1:5000/core:1.0.0: checking the tag",
		"localhost:5000/dev/core@sha256:0123456789abcdef",
		"git@github.com:acme/shiplane.git",
	} {
		if got := r.String(s); got != s {
			t.Errorf("String(%q) = %q, want it unchanged", s, got)
		}
	}
	var out bytes.Buffer
	w := r.Writer(&out)
	for _, piece := range []string{"clone https://x-acc", "ess-token:abc@github.com/a/b\n"} {
		w.Write([]byte(piece))
	}
	w.Flush()
	if out.String() != "clone https://***@github.com/a/b\n" {
		t.Fatalf("writer: %q", out.String())
	}
}

func TestRedactorURL(t *testing.T) {
	r := redact.New()
	r.Add("hunter22")
	u, err := url.Parse("https://u:pw@api.example/repos/hunter22/x?token=hunter22&page=2")
	if err != nil {
		t.Fatal(err)
	}
	r.URL(u)
	if s := u.String(); strings.Contains(s, "hunter22") || strings.Contains(s, "pw") || u.User != nil {
		t.Fatalf("URL %s", s)
	}
	r.URL(nil) // no panic
}

func TestRedactorErrorWrapsOnce(t *testing.T) {
	r := redact.New()
	r.Add("hunter22")
	err := r.Error(errors.New("hunter22"))
	if again := r.Error(err); again != err {
		t.Fatal("a redacted error was wrapped again")
	}
	if other := redact.New().Error(err); other == err {
		t.Fatal("another redactor's secrets would not be masked")
	}
	// Secrets added later are masked too: the text is redacted when it is read.
	late := r.Error(errors.New("late-secret"))
	r.Add("late-secret")
	if late.Error() != "***" {
		t.Fatalf("late secret: %q", late.Error())
	}
}
