package progress_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/shiplane/shiplane/magefiles/progress"
)

func TestPrefixWritesWholePrefixedLines(t *testing.T) {
	var buf bytes.Buffer
	w := progress.Prefix(&buf, "core | ")
	for _, chunk := range []string{"Step 1/2 : FROM", " scratch\nStep 2/2", " : COPY\r", "\nprogress 1\rprogress 2\r\n", "\n", "tail"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "core | Step 1/2 : FROM scratch\ncore | Step 2/2 : COPY\ncore | progress 1\ncore | progress 2\ncore | \ncore | tail\n"
	if buf.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", buf.String(), want)
	}
}

func TestPrefixWritersSharingALockedWriterNeverInterleaveLines(t *testing.T) {
	var buf bytes.Buffer
	shared := progress.Locked(&buf)
	if progress.Locked(shared) != shared {
		t.Fatal("Locked wrapped a locked writer again")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := progress.Prefix(shared, fmt.Sprintf("c%d | ", g))
			for i := range 200 {
				// Split each line in two writes to give interleaving a chance.
				fmt.Fprintf(w, "line %d of", i)
				fmt.Fprintf(w, " c%d\n", g)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("%d lines, want %d", len(lines), 8*200)
	}
	for _, l := range lines {
		var g, i, g2 int
		if _, err := fmt.Sscanf(l, "c%d | line %d of c%d", &g, &i, &g2); err != nil || g != g2 {
			t.Fatalf("garbled line %q", l)
		}
	}
}
