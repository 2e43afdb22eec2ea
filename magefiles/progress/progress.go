// Package progress holds small writers for human progress output: one that serialises writes from
// many goroutines, and one that prefixes every line ("core | Step 1/4 : FROM scratch").
package progress

import (
	"bytes"
	"io"
	"sync"
)

// Locked returns a writer that serialises Write calls to w, so writers sharing it never interleave
// within one Write. A writer already returned by Locked is returned as is; nil means io.Discard.
func Locked(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	if l, ok := w.(*locked); ok {
		return l
	}
	return &locked{w: w}
}

type locked struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *locked) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// LineWriter writes whole lines to an underlying writer, each starting with a prefix. A partial line
// is held until its newline arrives or Flush is called. Each complete batch of lines reaches the
// underlying writer in one Write call, so LineWriters sharing a Locked writer never interleave
// within a line. A LineWriter is safe for concurrent use (a command's stdout and stderr may share
// one).
type LineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

// Prefix returns a LineWriter that writes to w (nil means io.Discard) with every line prefixed.
func Prefix(w io.Writer, prefix string) *LineWriter {
	if w == nil {
		w = io.Discard
	}
	return &LineWriter{w: w, prefix: []byte(prefix)}
}

// Write buffers p and writes every line it completes. Carriage returns are treated as line ends,
// so progress bars redrawn in place become separate lines rather than garbled ones.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	var out []byte
	for {
		i := bytes.IndexAny(l.buf, "\r\n")
		if i < 0 || (l.buf[i] == '\r' && i == len(l.buf)-1) {
			break // no line end yet, or a "\r" whose "\n" may follow
		}
		line := l.buf[:i]
		rest := l.buf[i+1:]
		if l.buf[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
			rest = rest[1:]
		}
		if len(line) > 0 || l.buf[i] == '\n' {
			out = append(out, l.prefix...)
			out = append(out, line...)
			out = append(out, '\n')
		}
		l.buf = rest
	}
	// Keep the buffer from growing across many lines.
	l.buf = append(l.buf[:0:0], l.buf...)
	if len(out) > 0 {
		if _, err := l.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes a pending partial line, ended with a newline.
func (l *LineWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 {
		return nil
	}
	out := append(append(append([]byte(nil), l.prefix...), l.buf...), '\n')
	l.buf = l.buf[:0]
	_, err := l.w.Write(out)
	return err
}
