package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/shiplane/shiplane/services/base/svc"
)

// Scanner returns a verdict for a payload.
type Scanner interface {
	Scan(ctx context.Context, payload string) (verdict string, err error)
}

// HTTPScanner calls the scanner service: POST <URL>/scan {"payload":...}
// answering {"verdict":...}.
type HTTPScanner struct {
	URL    string
	Client *http.Client
}

var _ Scanner = (*HTTPScanner)(nil)

// Scan asks the scanner for a verdict on payload.
func (s *HTTPScanner) Scan(ctx context.Context, payload string) (string, error) {
	var out struct {
		Verdict string `json:"verdict"`
	}
	url := strings.TrimRight(s.URL, "/") + "/scan"
	if err := svc.PostJSON(ctx, s.Client, url, map[string]string{"payload": payload}, &out); err != nil {
		return "", fmt.Errorf("scanning: %w", err)
	}
	if out.Verdict == "" {
		return "", fmt.Errorf("scanning: %w", errors.New("scanner answered without a verdict"))
	}
	return out.Verdict, nil
}
