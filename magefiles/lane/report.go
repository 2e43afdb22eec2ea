package lane

import (
	"fmt"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// finish prints the summary, writes the JSON report when SHIPLANE_REPORT names a path, and returns
// the report's error.
func (w *Workspace) finish(r *goal.Report) error {
	fmt.Fprintln(w.Config.Progress, r.Summary())
	if path := w.Env.Report; path != "" {
		if err := r.WriteFile(path); err != nil {
			return err
		}
		fmt.Fprintf(w.Config.Progress, "report written to %s\n", path)
	}
	return r.Err()
}

// finishRedacted masks secrets in every goal's reason, then finishes the run as finish does
// (summary, JSON report, error), masking the returned error too.
func (w *Workspace) finishRedacted(r *goal.Report, red *redact.Redactor) error {
	for i := range r.Results {
		r.Results[i].Reason = red.String(r.Results[i].Reason)
	}
	return red.Error(w.finish(r))
}
