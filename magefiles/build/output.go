package build

import (
	"bytes"
	"sync"
)

// FailureLines is how many of an image's last output lines a failed build prints when its output
// is not streamed (WithVerbose(false)).
const FailureLines = 30

// lineTail keeps the last max lines written to it. Writes are whole lines (a progress.LineWriter
// writes to it); a partial line is kept as a line of its own. It is safe for concurrent use.
type lineTail struct {
	mu    sync.Mutex
	max   int
	lines [][]byte
}

func newLineTail(max int) *lineTail { return &lineTail{max: max} }

func (t *lineTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		t.lines = append(t.lines, append([]byte(nil), line...))
	}
	if over := len(t.lines) - t.max; over > 0 {
		t.lines = append(t.lines[:0:0], t.lines[over:]...)
	}
	return len(p), nil
}

// Bytes returns the lines kept, each ended with a newline.
func (t *lineTail) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []byte
	for _, l := range t.lines {
		out = append(out, l...)
		if l[len(l)-1] != '\n' {
			out = append(out, '\n')
		}
	}
	return out
}
