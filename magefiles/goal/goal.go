// Package goal runs goals named for end states ("image built", "chart pushed"): it assesses every
// goal, achieves only what is missing, re-assesses what it achieved, and reports each outcome.
//
// # JSON report
//
// [Report.WriteJSON] and [Report.WriteFile] (the file SHIPLANE_REPORT names) write one object:
//
//	{
//	  "schemaVersion": 1,
//	  "goals": [
//	    {
//	      "component": "core",
//	      "goal": "image built shiplane/core:1.2.0",
//	      "status": "achieved",
//	      "reason": "…",
//	      "digest": "sha256:…",
//	      "platforms": {"linux/amd64": "sha256:…", "linux/arm64": "sha256:…"},
//	      "duration_ns": 1200000000
//	    }
//	  ],
//	  "duration_ns": 4100000000,
//	  "dry_run": true
//	}
//
// schemaVersion is [ReportSchemaVersion]. goals lists every goal in the order the run was given them
// (a goal listed twice, once); component is empty for a goal of no component, and reason, digest,
// platforms and dry_run are left out when empty or false. For an image pushed as an image index,
// digest is the index's and platforms maps each platform to its image's digest (when the run
// built or pushed the index; a run that found the tags published by their inputs reads no index
// and leaves it out). Durations are nanoseconds. status is one word
// ([Status.Word]):
//
//	already   the end state held before the run (displayed "already achieved")
//	achieved  the run achieved it ("newly achieved")
//	planned   a dry run found it missing: it would be achieved ("to achieve")
//	skipped   it does not apply; reason says why
//	blocked   a goal it comes after did not succeed
//	failed    assessing or achieving it failed (or panicked), or it could not run; reason holds the error
//	pending   not decided (the zero Status; a finished run reports none)
//
// Reports without schemaVersion (version 0) wrote the display phrases instead; [Status.UnmarshalText]
// reads both.
package goal

import (
	"context"
	"fmt"
	"time"

	"github.com/shiplane/shiplane/magefiles/progress"
)

// Goal is one end state. String names it ("image built shiplane/core:1.2.0"). Assess observes the
// world without changing it; Achieve changes the world so that Assess will report it achieved.
type Goal interface {
	String() string
	Assess(ctx context.Context) (State, error)
	Achieve(ctx context.Context) error
}

// State is what an assessment found.
type State struct {
	// Achieved is true when the end state already holds.
	Achieved bool
	// Skip, when not empty, says why the goal does not apply; the goal is then neither achieved nor
	// failed, and its dependents still run.
	Skip string
	// Digest identifies the artifact where there is one (an image ID, a manifest digest).
	Digest string
	// Platforms maps each platform ("linux/arm64") to its image's digest, when Digest is an image
	// index's; nil otherwise.
	Platforms map[string]string
	// Detail is a short human note ("published with the same inputs"); when the goal is not
	// achieved, what is missing (the engine reports it when an Achieve did not reach the end state).
	Detail string
}

// Status is a goal's outcome.
type Status int

// The outcomes, in the order a report lists them by severity.
const (
	Pending Status = iota
	AlreadyAchieved
	NewlyAchieved
	Skipped
	Blocked
	Failed
	Planned // assessed in a dry run and found missing: it would be achieved
)

// statusWords are the statuses as machines read them: the JSON report's "status" values.
var statusWords = map[Status]string{
	Pending:         "pending",
	AlreadyAchieved: "already",
	NewlyAchieved:   "achieved",
	Skipped:         "skipped",
	Blocked:         "blocked",
	Failed:          "failed",
	Planned:         "planned",
}

// statusPhrases are the statuses as people read them, in progress lines and summaries.
var statusPhrases = map[Status]string{
	Pending:         "pending",
	AlreadyAchieved: "already achieved",
	NewlyAchieved:   "newly achieved",
	Skipped:         "skipped",
	Blocked:         "blocked",
	Failed:          "failed",
	Planned:         "to achieve",
}

// String is the status's display phrase ("already achieved", "to achieve"), as progress lines and
// summaries show it; Word is the form written in JSON reports.
func (s Status) String() string {
	if p, ok := statusPhrases[s]; ok {
		return p
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Word is the status as one lowercase word ("already", "achieved", "planned"), as JSON reports
// write it; String is the display phrase.
func (s Status) Word() string {
	if w, ok := statusWords[s]; ok {
		return w
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText writes the status's word; a status outside the declared ones is an error.
func (s Status) MarshalText() ([]byte, error) {
	w, ok := statusWords[s]
	if !ok {
		return nil, fmt.Errorf("unknown goal status %d", int(s))
	}
	return []byte(w), nil
}

// OK reports whether the outcome is a success (achieved either way, skipped, or planned).
func (s Status) OK() bool { return s != Failed && s != Blocked && s != Pending }

// Node is a goal in a run: the component it belongs to and the goals that must succeed first.
type Node struct {
	Component string
	// Goal is required: a node without one is failed with ErrInvalidNode.
	Goal Goal
	// After lists the nodes that must succeed first; each must be in the same run. A nil entry
	// fails the node with ErrInvalidNode.
	After []*Node
	// Optional marks a goal whose failure does not fail the run: it is reported
	// "failed (optional: <reason>)", the report's Err leaves it out, and the nodes after it run
	// as if it had succeeded. Default: false.
	Optional bool
}

// Result is the outcome of one goal.
type Result struct {
	Component string `json:"component"`
	Goal      string `json:"goal"`
	Status    Status `json:"status"`
	Reason    string `json:"reason,omitempty"`
	Digest    string `json:"digest,omitempty"`
	// Platforms is State.Platforms: each platform's image digest when Digest is an index's.
	Platforms map[string]string `json:"platforms,omitempty"`
	Duration  time.Duration     `json:"duration_ns"`
	// Optional is Node.Optional: a failure of this goal does not fail the run.
	Optional bool `json:"optional,omitempty"`
	// Detail is the last assessment's note on an achieved goal (State.Detail: a release's page,
	// "published with the same inputs"); not serialised.
	Detail string `json:"-"`
	// Err is the error behind a failure, for errors.Is/As; not serialised (Reason holds its text).
	Err error `json:"-"`
}

// Line renders the result the way progress shows it: "core: image built … ok (newly achieved)".
func (r Result) Line() string {
	var out string
	switch r.Status {
	case AlreadyAchieved, NewlyAchieved:
		out = "ok (" + r.Status.String() + ")"
	case Planned:
		out = "to achieve"
	default:
		out = r.Status.String()
	}
	if r.Reason != "" {
		out += " (" + r.Reason + ")"
	}
	if r.Digest != "" {
		out += " " + progress.Short(r.Digest)
	}
	prefix := ""
	if r.Component != "" {
		prefix = r.Component + ": "
	}
	return fmt.Sprintf("%s%s: %s", prefix, r.Goal, out)
}

// UnmarshalText reads a status's word, so JSON reports can be read back; it also accepts the
// display phrases that reports written before ReportSchemaVersion 1 used.
func (s *Status) UnmarshalText(b []byte) error {
	for _, names := range []map[Status]string{statusWords, statusPhrases} {
		for k, v := range names {
			if v == string(b) {
				*s = k
				return nil
			}
		}
	}
	return fmt.Errorf("unknown goal status %q", b)
}
