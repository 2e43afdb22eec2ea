package svc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Info identifies a running service. GET /version answers it as JSON, for
// example {"name":"core","version":"1.2.0"}.
type Info struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// NewMux returns a ServeMux that already answers GET /healthz with
// {"status":"ok"} and GET /version with info. Services add their own routes.
func NewMux(info Info) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, info)
	})
	return mux
}

// WriteJSON writes v as a JSON response with the given status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encoding response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

// WriteError writes {"error": <message>} with the given status code.
func WriteError(w http.ResponseWriter, code int, format string, args ...any) {
	WriteJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// DefaultMaxBody is the request body limit DecodeJSON and ReadBody apply when
// given a limit of 0 or less: 8 MiB.
const DefaultMaxBody = 8 << 20

// DecodeJSON decodes the request body (at most limit bytes, DefaultMaxBody
// when limit <= 0) into v. On failure it writes a 400 (or 413 when the body
// is too large) and returns false.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			WriteError(w, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", tooLarge.Limit)
			return false
		}
		WriteError(w, http.StatusBadRequest, "decoding JSON request body: %v", err)
		return false
	}
	return true
}
