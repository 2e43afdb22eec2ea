package compose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/docker/compose/v5/pkg/api"
)

// eventWriter prints Compose's progress events as plain lines, one per change of a resource's
// status text ("Container shiplane-core-1 Started").
type eventWriter struct {
	mu   sync.Mutex
	w    io.Writer
	last map[string]string
}

var _ api.EventProcessor = (*eventWriter)(nil)

func newEventWriter(w io.Writer) *eventWriter {
	return &eventWriter{w: w, last: map[string]string{}}
}

func (e *eventWriter) Start(context.Context, string) {}

func (e *eventWriter) On(events ...api.Resource) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range events {
		text := ev.Text
		if ev.Details != "" {
			text = strings.TrimSpace(text + " " + ev.Details)
		}
		if text == "" || e.last[ev.ID] == text {
			continue
		}
		e.last[ev.ID] = text
		prefix := ""
		switch ev.Status {
		case api.Warning:
			prefix = "warning: "
		case api.Error:
			prefix = "error: "
		}
		fmt.Fprintf(e.w, "%s%s %s\n", prefix, ev.ID, text)
	}
}

// Done forgets the operation's statuses. (Its flag is not reported: the SDK passes "failed" where
// the interface documents "success"; the operation's error is returned anyway.)
func (e *eventWriter) Done(string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = map[string]string{}
}
