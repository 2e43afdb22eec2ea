package lane_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
)

// afterPublishRelyFile adds a webhook to the reliability platform's release file; the default
// "published artifacts verified" runs after it.
const afterPublishRelyFile = `verify:
  - name: versions readable
    run: test -s VERSION && test -s services/core/VERSION
after_publish:
  - name: chat
    kind: webhook
    with: {url: secret!env!SHIPLANE_TEST_WEBHOOK_URL}
`

// isWebhookRecord matches the upload of the webhook's record asset to the GitHub release.
func isWebhookRecord(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/assets") &&
		strings.HasPrefix(r.URL.Query().Get("name"), "webhook-")
}

// TestAfterPublishCrashResume SIGKILLs a release child after the webhook was POSTed and before
// its record reaches the GitHub release (the GitHub API is faked: it cannot be reached from
// here), then resumes in this process: the resumed run notifies again (delivery is at least
// once: nothing said it was sent), records it once, checks the published artifacts, and leaves
// every artifact written exactly once; a third run sends nothing.
func TestAfterPublishCrashResume(t *testing.T) {
	hook := newWebhookReceiver(t)
	url := hook.srv.URL + "/" + webhookSecretPath
	t.Setenv("SHIPLANE_TEST_WEBHOOK_URL", url) // the in-process runs read the process environment
	k := &killSwitch{}
	w := newRelyWorld(t, relyOptions{root: cloneShared(t, afterPublishRelyFile),
		github: requestKill{match: isWebhookRecord, nth: 1}.middleware(k, "webhook record: before the upload")})
	w.env["SHIPLANE_TEST_WEBHOOK_URL"] = url // the child's
	out := w.runKilled(k)
	if n := len(hook.posts()); n != 1 {
		t.Fatalf("the killed run POSTed %d times before its record, want 1", n)
	}
	removeStaleLocks(t, w.root, w.origin)
	w.mustRelease("resumed run")
	var rep goal.Report
	readReport(t, w.report, &rep)
	byGoal := results(rep)
	if res := byGoal["chat"]; res.Status != goal.NewlyAchieved {
		t.Errorf("resumed run: chat: %s", res.Line())
	}
	if res := byGoal["published artifacts verified"]; res.Status != goal.NewlyAchieved {
		t.Errorf("resumed run: %s", res.Line())
	}
	if n := len(hook.posts()); n != 2 {
		t.Errorf("the webhook received %d POSTs over the killed and resumed runs, want 2 (sent again: no record)", n)
	}
	w.puts.once(t, "killed and resumed runs")
	w.ghw.once(t, "killed and resumed runs")
	records := 0
	for _, l := range w.state().GitHub {
		if strings.Contains(l, "webhook-chat.sent") {
			records++
		}
	}
	if records != 1 {
		t.Errorf("%d webhook records on the release, want 1:\n%s", records, w.state())
	}

	w.mustRelease("third run")
	readReport(t, w.report, &rep)
	if res := results(rep)["chat"]; res.Status != goal.AlreadyAchieved {
		t.Errorf("third run: chat: %s", res.Line())
	}
	if n := len(hook.posts()); n != 2 {
		t.Errorf("the third run POSTed again (%d POSTs in all)", n)
	}
	assertNoSecretIn(t, out+w.out.String(), w.report)
	if strings.Contains(out+w.out.String(), webhookSecretPath) {
		t.Error("the webhook's URL is in the output")
	}
}
