package pipeline_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/pipeline"
)

func TestRedactorForms(t *testing.T) {
	const secret = "p@ss w/rd?>~&"
	r := pipeline.NewRedactor()
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
	r := pipeline.NewRedactor()
	r.Add("xab", "abcdef")
	if got := r.String("1xabcdef2 abcdef xab"); got != "1***2 *** ***" {
		t.Fatalf("got %q", got)
	}
}

func TestRedactorMultiLineSecret(t *testing.T) {
	r := pipeline.NewRedactor()
	r.Add("-----BEGIN KEY-----\nAAAABBBBCCCC\nxy\n-----END KEY-----\n")
	got := r.String("line AAAABBBBCCCC end\nxy stays\n")
	if got != "line *** end\nxy stays\n" {
		t.Fatalf("got %q", got)
	}
}

func TestNilAndEmptyRedactor(t *testing.T) {
	var r *pipeline.Redactor
	if r.String("a") != "a" || r.Len() != 0 {
		t.Fatal("nil redactor changed text")
	}
	r.Add("x") // no panic
	e := pipeline.NewRedactor()
	e.Add("")
	if e.Len() != 0 || e.String("abc") != "abc" {
		t.Fatal("empty secret registered")
	}
}

// TestWriterSplitsNeverLeak writes a secret in every possible split, and in byte-by-byte pieces.
func TestWriterSplitsNeverLeak(t *testing.T) {
	const secret = "s3cr3t-value"
	text := "before " + secret + " after\nnext " + base64.StdEncoding.EncodeToString([]byte(secret)) + "\ntail " + secret
	r := pipeline.NewRedactor()
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
	r := pipeline.NewRedactor()
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
	w := pipeline.NewRedactor().Writer(&out)
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
	r := pipeline.NewRedactor()
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
