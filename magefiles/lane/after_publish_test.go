package lane_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/lane"
)

// webhookReceiver is the webhook's end: an httptest server counting the POSTs it receives and
// running onPost (the test's hook between publishing and the checks after it) on the first.
type webhookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	onPost func()
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	w := &webhookReceiver{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, body)
		hook := w.onPost
		w.onPost = nil
		w.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(rw, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if hook != nil {
			hook()
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookReceiver) posts() [][]byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]byte(nil), w.bodies...)
}

// webhookSecretPath is in the webhook's URL: the URL is a secret, so it must appear nowhere.
const webhookSecretPath = "hooks/T0KEN-webhook-CANARY"

const afterPublishFile = `verify:
  - name: versions readable
    run: test -s VERSION
after_publish:
  - name: chat
    kind: webhook
    with: {url: secret!env!SHIPLANE_TEST_WEBHOOK_URL}
  - name: published artifacts verified
    kind: published-artifacts
    after: [chat]
  - name: flaky smoke
    run: echo smoke endpoint down >&2; exit 4
    optional: true
`

// TestAfterPublishGoals releases with after_publish goals, the GitHub API faked (it cannot be
// reached from here), a real registry and git. The webhook's receiver re-tags core's image
// under the release registry when it is notified, between the publish and the check:
// "published artifacts verified" fails naming it, the optional smoke test fails without
// failing the release, and the webhook is recorded as sent. With the tag put back, a second
// run succeeds, does not POST again, and writes nothing.
func TestAfterPublishGoals(t *testing.T) {
	r := newReleaseRepo(t, "shipafter")
	ctx := t.Context()
	gittest.Write(t, r.root, map[string]string{"deploy/release.yaml": afterPublishFile})
	gittest.Git(t, r.root, "commit", "-q", "-am", "after-publish goals")
	gittest.Git(t, r.root, "push", "-q", "origin", "HEAD:refs/heads/main")
	hook := newWebhookReceiver(t)
	t.Setenv("SHIPLANE_TEST_WEBHOOK_URL", hook.srv.URL+"/"+webhookSecretPath)

	ws, err := lane.Open(ctx, r.config())
	if err != nil {
		t.Fatal(err)
	}
	core := ws.Manifest.Component("core")
	coreRef := r.reg.Ref("rel/" + core.Image.Name + ":" + core.Version)
	var published string
	hook.onPost = func() { // the tamper: core's version tag moved to another image
		d, err := remote.Head(mustRef(t, coreRef))
		if err != nil {
			t.Errorf("reading %s: %v", coreRef, err)
			return
		}
		published = d.Digest.String()
		if err := remote.Write(mustRef(t, coreRef), fakeImage(t, map[string]string{"org.opencontainers.image.version": core.Version})); err != nil {
			t.Errorf("re-tagging %s: %v", coreRef, err)
		}
	}

	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	err = lane.ReleaseAll(ctx, r.config())
	if err == nil || !strings.Contains(err.Error(), coreRef+": the tag now holds") {
		t.Fatalf("releaseAll after a re-tag: err = %v, want the check to name %s\n%s", err, coreRef, r.out)
	}
	var rep goal.Report
	readReport(t, r.report, &rep)
	byGoal := results(rep)
	if res := byGoal["published artifacts verified"]; res.Status != goal.Failed || res.Component != "after-publish" || !strings.Contains(res.Reason, published) {
		t.Errorf("published artifacts verified: %s", res.Line())
	}
	if res := byGoal["flaky smoke"]; res.Status != goal.Failed || !res.Optional || !strings.HasPrefix(res.Reason, "optional: ") {
		t.Errorf("flaky smoke: %s", res.Line())
	}
	if strings.Contains(err.Error(), "flaky smoke") {
		t.Errorf("the optional goal's failure is among the release's errors: %v", err)
	}
	if res := byGoal["chat"]; res.Status != goal.NewlyAchieved {
		t.Errorf("chat: %s", res.Line())
	}
	if !strings.Contains(r.out.String(), "after-publish: flaky smoke: failed (optional: ") {
		t.Errorf("the optional failure is not shown as failed (optional: …):\n%s", r.out)
	}

	noWebhookURL(t, r)

	// The fix the error gives: put the published digest back under the tag.
	desc, err := remote.Get(mustRef(t, strings.TrimSuffix(coreRef, ":"+core.Version)+"@"+published))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(mustTag(t, coreRef), desc); err != nil {
		t.Fatal(err)
	}
	r.reg.Reset()
	r.gh.ResetCounts()
	r.out.Reset()
	if err := lane.ReleaseAll(ctx, r.config()); err != nil {
		t.Fatalf("second run: %v\n%s", err, r.out)
	}
	readReport(t, r.report, &rep)
	byGoal = results(rep)
	if res := byGoal["chat"]; res.Status != goal.AlreadyAchieved {
		t.Errorf("second run: chat: %s", res.Line())
	}
	if res := byGoal["published artifacts verified"]; res.Status != goal.NewlyAchieved {
		t.Errorf("second run: the check runs again and passes: %s", res.Line())
	}
	if res := byGoal["flaky smoke"]; res.Status != goal.Failed || !res.Optional {
		t.Errorf("second run: flaky smoke: %s", res.Line())
	}
	if w := r.reg.Writes(); w != 0 {
		t.Errorf("second run: %d registry writes", w)
	}
	if w := r.gh.Writes(); w != 0 {
		t.Errorf("second run: %d GitHub writes", w)
	}

	posts := hook.posts()
	if len(posts) != 1 {
		t.Fatalf("the webhook received %d POSTs in two runs, want 1", len(posts))
	}
	var summary lane.WebhookSummary
	if err := json.Unmarshal(posts[0], &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Tag != "v"+ws.Manifest.Platform.Version || summary.URL == "" || len(summary.Components) == 0 {
		t.Errorf("webhook summary: %+v", summary)
	}
	for _, c := range summary.Components {
		if c.Image != "" && !strings.HasPrefix(c.ImageDigest, "sha256:") {
			t.Errorf("webhook summary entry without its digest: %+v", c)
		}
	}
	rels := r.gh.Releases()
	if len(rels) != 1 {
		t.Fatalf("releases: %+v", rels)
	}
	recorded := false
	for _, a := range rels[0].Assets {
		recorded = recorded || a.Name == "webhook-chat.sent"
	}
	if !recorded {
		t.Errorf("the release does not record the notification: %+v", rels[0].Assets)
	}
	noWebhookURL(t, r)
}

// noWebhookURL checks that the webhook's URL, a secret, is in no output and no report.
func noWebhookURL(t *testing.T, r *releaseRepo) {
	t.Helper()
	report, _ := os.ReadFile(r.report)
	if strings.Contains(r.out.String()+string(report), webhookSecretPath) {
		t.Error("the webhook's URL is in the output or the report")
	}
	r.assertNoSecret(t)
}

func results(rep goal.Report) map[string]goal.Result {
	out := map[string]goal.Result{}
	for _, res := range rep.Results {
		out[res.Goal] = res
	}
	return out
}

func mustRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
