package github

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	gh "github.com/google/go-github/v89/github"
)

// redacted replaces every secret in text.
const redacted = "[REDACTED]"

// redactor knows the secret values of one Client (the token, credentials found in its URLs) and
// the forms they travel in: plain, URL-escaped, and base64 (alone, and as the password of
// "x-access-token:" Basic auth, the form git and GitHub Apps use).
type redactor struct {
	secrets []string // longest first, so a longer form is replaced before a part of it
}

func newRedactor(values ...string) *redactor {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		for _, form := range []string{v, "x-access-token:" + v} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
				add(enc.EncodeToString([]byte(form)))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return &redactor{secrets: out}
}

// String returns s with every secret replaced by [REDACTED].
func (r *redactor) String(s string) string {
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// redactedError carries an error whose text has had every secret removed; errors.Is and
// errors.As still reach the original (itself scrubbed by scrub).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// wrap scrubs err in place and returns it with its text redacted.
func (r *redactor) wrap(err error) error {
	if err == nil {
		return nil
	}
	var already *redactedError
	if errors.As(err, &already) && already == err {
		return err
	}
	r.scrub(err)
	return &redactedError{msg: r.String(err.Error()), err: err}
}

// scrub removes secrets from the errors go-github returns, in place: their messages, the request
// URL (user information), the Authorization header of the request they hold, and the answer body
// kept for the caller. Whoever digests them with errors.As finds nothing to leak.
func (r *redactor) scrub(err error) {
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		r.scrubErrorResponse(er)
	}
	var tf *gh.TwoFactorAuthError
	if errors.As(err, &tf) {
		r.scrubErrorResponse((*gh.ErrorResponse)(tf))
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		rl.Message = r.String(rl.Message)
		r.scrubResponse(rl.Response)
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) {
		ab.Message = r.String(ab.Message)
		r.scrubResponse(ab.Response)
	}
	var rd *gh.RedirectionError
	if errors.As(err, &rd) {
		r.scrubResponse(rd.Response)
		r.scrubURL(rd.Location)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			r.scrubURL(u)
			ue.URL = u.String()
		}
		ue.URL = r.String(ue.URL)
	}
}

func (r *redactor) scrubErrorResponse(e *gh.ErrorResponse) {
	e.Message = r.String(e.Message)
	e.DocumentationURL = r.String(e.DocumentationURL)
	for i := range e.Errors {
		x := &e.Errors[i]
		x.Message, x.Field, x.Resource, x.Code = r.String(x.Message), r.String(x.Field), r.String(x.Resource), r.String(x.Code)
	}
	if e.Block != nil {
		e.Block.Reason = r.String(e.Block.Reason)
	}
	r.scrubResponse(e.Response)
}

func (r *redactor) scrubResponse(resp *http.Response) {
	if resp == nil {
		return
	}
	if resp.Request != nil {
		if resp.Request.Header != nil && resp.Request.Header.Get("Authorization") != "" {
			h := resp.Request.Header.Clone()
			h.Del("Authorization")
			resp.Request.Header = h
		}
		r.scrubURL(resp.Request.URL)
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader([]byte(r.String(string(b)))))
	}
}

func (r *redactor) scrubURL(u *url.URL) {
	if u == nil {
		return
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = r.String(u.RawQuery)
	}
	u.Path, u.RawPath = r.String(u.Path), r.String(u.RawPath)
}
