package goal_test

import (
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
)

// allStatuses lists every declared status, in declaration order.
var allStatuses = []goal.Status{goal.Pending, goal.AlreadyAchieved, goal.NewlyAchieved, goal.Skipped, goal.Blocked, goal.Failed, goal.Planned}

// TestStatusWordAndPhrase: every status has one machine word and one display phrase; the text form
// is the word, and reading accepts the word and, for reports written before schema version 1, the
// phrase.
func TestStatusWordAndPhrase(t *testing.T) {
	want := map[goal.Status][2]string{
		goal.Pending:         {"pending", "pending"},
		goal.AlreadyAchieved: {"already", "already achieved"},
		goal.NewlyAchieved:   {"achieved", "newly achieved"},
		goal.Skipped:         {"skipped", "skipped"},
		goal.Blocked:         {"blocked", "blocked"},
		goal.Failed:          {"failed", "failed"},
		goal.Planned:         {"planned", "to achieve"},
	}
	if len(want) != len(allStatuses) {
		t.Fatalf("the test covers %d statuses, want %d", len(want), len(allStatuses))
	}
	for _, s := range allStatuses {
		word, phrase := want[s][0], want[s][1]
		if s.Word() != word || s.String() != phrase {
			t.Errorf("status %d: Word %q, String %q; want %q, %q", int(s), s.Word(), s.String(), word, phrase)
		}
		if b, err := s.MarshalText(); err != nil || string(b) != word {
			t.Errorf("status %d: MarshalText = %q, %v; want %q", int(s), b, err, word)
		}
		for _, text := range []string{word, phrase} {
			var got goal.Status
			if err := got.UnmarshalText([]byte(text)); err != nil || got != s {
				t.Errorf("UnmarshalText(%q) = %v, %v; want %v", text, got, err, s)
			}
		}
	}
	var s goal.Status
	if err := s.UnmarshalText([]byte("newly")); err == nil {
		t.Errorf("UnmarshalText accepted an unknown word")
	}
	if _, err := goal.Status(99).MarshalText(); err == nil {
		t.Errorf("MarshalText accepted an undeclared status")
	}
	if got := goal.Status(99).Word(); got != "Status(99)" {
		t.Errorf("Word of an undeclared status = %q", got)
	}
}
