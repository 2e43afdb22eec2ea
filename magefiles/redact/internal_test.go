package redact

import "testing"

func TestNilRedactorWriter(t *testing.T) {
	var r *Redactor
	var b []byte
	w := r.Writer(writerFunc(func(p []byte) (int, error) { b = append(b, p...); return len(p), nil }))
	w.Write(make([]byte, holdLimit+10))
	w.Flush()
	if len(b) != holdLimit+10 {
		t.Fatalf("wrote %d", len(b))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
