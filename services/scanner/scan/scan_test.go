package scan

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/services/base/svc"
)

func TestScan(t *testing.T) {
	srv := httptest.NewServer(NewHandler(svc.Info{Name: "scanner", Version: "0.9.0"}, svc.DiscardLogger()))
	defer srv.Close()
	for _, tc := range []struct {
		body    string
		code    int
		verdict string
	}{
		{`{"payload":"hello"}`, 200, Clean},
		{`{"payload":""}`, 200, Clean},
		{`{"payload":"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"}`, 200, Malicious},
		{`{"payload":"eicar"}`, 200, Clean},
		{`{}`, 400, ""},
		{`nope`, 400, ""},
	} {
		resp, err := http.Post(srv.URL+"/scan", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Verdict string }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tc.code || out.Verdict != tc.verdict {
			t.Errorf("POST /scan %s = %d %q, want %d %q", tc.body, resp.StatusCode, out.Verdict, tc.code, tc.verdict)
		}
	}
	resp, err := http.Get(srv.URL + "/scan")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /scan = %d, want 405", resp.StatusCode)
	}
}
