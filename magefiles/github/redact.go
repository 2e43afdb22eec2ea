package github

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// wrap scrubs err in place and returns it with its text redacted by the client's redactor (which
// knows the token and the credentials found in its URLs); errors.Is and errors.As still reach the
// original, itself scrubbed.
func (c *Client) wrap(err error) error {
	if err == nil {
		return nil
	}
	scrub(c.red, err)
	return c.red.Error(err)
}

// scrub removes secrets from the errors go-github returns, in place: their messages, the request
// URL (user information), the Authorization header of the request they hold, and the answer body
// kept for the caller. Whoever digests them with errors.As finds nothing to leak.
func scrub(r *redact.Redactor, err error) {
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		scrubErrorResponse(r, er)
	}
	var tf *gh.TwoFactorAuthError
	if errors.As(err, &tf) {
		scrubErrorResponse(r, (*gh.ErrorResponse)(tf))
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		rl.Message = r.String(rl.Message)
		scrubResponse(r, rl.Response)
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) {
		ab.Message = r.String(ab.Message)
		scrubResponse(r, ab.Response)
	}
	var rd *gh.RedirectionError
	if errors.As(err, &rd) {
		scrubResponse(r, rd.Response)
		r.URL(rd.Location)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			r.URL(u)
			ue.URL = u.String()
		}
		ue.URL = r.String(ue.URL)
	}
}

func scrubErrorResponse(r *redact.Redactor, e *gh.ErrorResponse) {
	e.Message = r.String(e.Message)
	e.DocumentationURL = r.String(e.DocumentationURL)
	for i := range e.Errors {
		x := &e.Errors[i]
		x.Message, x.Field, x.Resource, x.Code = r.String(x.Message), r.String(x.Field), r.String(x.Resource), r.String(x.Code)
	}
	if e.Block != nil {
		e.Block.Reason = r.String(e.Block.Reason)
	}
	scrubResponse(r, e.Response)
}

func scrubResponse(r *redact.Redactor, resp *http.Response) {
	if resp == nil {
		return
	}
	if resp.Request != nil {
		if resp.Request.Header != nil && resp.Request.Header.Get("Authorization") != "" {
			h := resp.Request.Header.Clone()
			h.Del("Authorization")
			resp.Request.Header = h
		}
		r.URL(resp.Request.URL)
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader([]byte(r.String(string(b)))))
	}
}
