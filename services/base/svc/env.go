package svc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env looks up an environment variable and returns "" when it is unset, like
// os.Getenv. Tests use MapEnv instead of the process environment.
type Env func(key string) string

// OSEnv reads the process environment.
var OSEnv Env = os.Getenv

// MapEnv returns an Env that reads from m.
func MapEnv(m map[string]string) Env {
	return func(key string) string { return m[key] }
}

// String returns the trimmed value of key, or def when it is unset or blank.
func (e Env) String(key, def string) string {
	if v := strings.TrimSpace(e(key)); v != "" {
		return v
	}
	return def
}

// Duration parses key as a Go duration ("500ms", "2s"), or returns def when it
// is unset. A value that does not parse or is not positive is an error.
func (e Env) Duration(key string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(e(key))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("parsing %s=%q: %w", key, v, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("parsing %s=%q: must be positive", key, v)
	}
	return d, nil
}

// Port returns the TCP port from PORT, or def when it is unset. It must be a
// number from 1 to 65535.
func (e Env) Port(def int) (int, error) {
	v := strings.TrimSpace(e("PORT"))
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("parsing PORT=%q: want a port number from 1 to 65535", v)
	}
	return p, nil
}

// Addr returns the listen address ":<port>" for PORT, or for def when unset.
func (e Env) Addr(def int) (string, error) {
	p, err := e.Port(def)
	if err != nil {
		return "", err
	}
	return ":" + strconv.Itoa(p), nil
}
