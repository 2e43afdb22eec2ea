package goal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// everyStatus is a report with one goal in each status, in declaration order.
func everyStatus() *goal.Report {
	ms := time.Millisecond
	return &goal.Report{
		Results: []goal.Result{
			{Component: "core", Goal: "image built shiplane/core:1.2.0", Status: goal.Pending},
			{Component: "base", Goal: "image built shiplane/base:1.0.0", Status: goal.AlreadyAchieved,
				Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", Duration: 3 * ms},
			{Component: "core", Goal: "image pushed registry.example/shiplane/core:1.2.0", Status: goal.NewlyAchieved,
				Digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", Duration: 1200 * ms},
			{Component: "scanner", Goal: "chart pushed scanner 0.3.0", Status: goal.Skipped, Reason: "no chart", Duration: ms},
			{Component: "connector-fs", Goal: "image built shiplane/connector-fs:0.9.1", Status: goal.Blocked,
				Reason: "blocked by base: image built shiplane/base:1.0.0"},
			{Component: "base", Goal: "image built shiplane/base:1.0.1", Status: goal.Failed, Reason: "go build: exit status 1",
				Duration: 2500 * ms, Err: errors.New("go build: exit status 1")},
			{Goal: "release published v1.2.0", Status: goal.Planned, Duration: 40 * ms},
		},
		Duration: 4100 * ms,
		DryRun:   true,
	}
}

// TestReportJSONGolden: the JSON report starts with schemaVersion and writes every status as its
// word.
func TestReportJSONGolden(t *testing.T) {
	r := everyStatus()
	if n := len(r.Results); n != len(allStatuses) {
		t.Fatalf("the report has %d goals, want one per status (%d)", n, len(allStatuses))
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "{\n  \"schemaVersion\": 1,\n") {
		t.Errorf("the report does not start with schemaVersion:\n%s", buf.String())
	}
	golden.Check(t, "report.json", string(buf.Bytes()))

	// WriteFile writes the same bytes.
	path := filepath.Join(t.TempDir(), "out", "report.json")
	if err := r.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || !bytes.Equal(data, buf.Bytes()) {
		t.Errorf("WriteFile wrote %q, %v; want the WriteJSON bytes", data, err)
	}
}

// TestReportLinesGolden: people still read the display phrases ("ok (newly achieved)", "to
// achieve") in progress lines and the summary.
func TestReportLinesGolden(t *testing.T) {
	r := everyStatus()
	var buf bytes.Buffer
	for _, res := range r.Results {
		buf.WriteString(res.Line() + "\n")
	}
	buf.WriteString(r.Summary() + "\n")
	golden.Check(t, "report.lines", string(buf.Bytes()))
}

// TestReportReadsBack: a written report reads back as the same report (but Err, never written);
// a report from before schema versions, with display phrases, still reads; a newer schema does not.
func TestReportReadsBack(t *testing.T) {
	want := everyStatus()
	var buf bytes.Buffer
	if err := want.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got goal.Report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for i := range want.Results {
		want.Results[i].Err = nil
	}
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("read back:\n%+v\nwant:\n%+v", got, *want)
	}

	old := `{"goals":[{"component":"core","goal":"g","status":"newly achieved","duration_ns":1},` +
		`{"component":"base","goal":"h","status":"already achieved","duration_ns":2},` +
		`{"component":"x","goal":"i","status":"to achieve","duration_ns":3}],"duration_ns":9}`
	var v0 goal.Report
	if err := json.Unmarshal([]byte(old), &v0); err != nil {
		t.Fatalf("a version 0 report: %v", err)
	}
	if len(v0.Results) != 3 || v0.Results[0].Status != goal.NewlyAchieved || v0.Results[1].Status != goal.AlreadyAchieved ||
		v0.Results[2].Status != goal.Planned || v0.Duration != 9 {
		t.Errorf("a version 0 report read as %+v", v0)
	}

	var v2 goal.Report
	err := json.Unmarshal([]byte(`{"schemaVersion":2,"goals":[]}`), &v2)
	if !errors.Is(err, goal.ErrReportSchema) {
		t.Errorf("a version 2 report: err = %v, want ErrReportSchema", err)
	}
}
