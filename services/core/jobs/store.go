// Package jobs is the core service: an in-memory job store, an optional
// scanner client and the HTTP API over them.
package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Job statuses.
const (
	StatusUnscanned  = "unscanned"   // no scanner is configured
	StatusScanned    = "scanned"     // the scanner answered; see Verdict
	StatusScanFailed = "scan-failed" // the scanner call failed; see Error
)

// Job is one unit of submitted work.
type Job struct {
	ID      string    `json:"id"`
	Source  string    `json:"source"`
	Payload string    `json:"payload"`
	Status  string    `json:"status"`
	Verdict string    `json:"verdict"`
	Error   string    `json:"error,omitempty"`
	Created time.Time `json:"created"`
}

// Store keeps jobs in memory in submission order. It is safe for concurrent
// use. The zero value is not usable; call NewStore.
type Store struct {
	mu   sync.RWMutex
	list []Job
	byID map[string]int
	now  func() time.Time
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{byID: make(map[string]int), now: time.Now}
}

// Add assigns the job an ID and creation time, stores it and returns it.
func (s *Store) Add(j Job) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		j.ID = newID()
		if _, dup := s.byID[j.ID]; !dup {
			break
		}
	}
	j.Created = s.now().UTC()
	s.byID[j.ID] = len(s.list)
	s.list = append(s.list, j)
	return j
}

// Get returns the job with id.
func (s *Store) Get(id string) (Job, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.byID[id]
	if !ok {
		return Job{}, false
	}
	return s.list[i], true
}

// List returns all jobs, oldest first.
func (s *Store) List() []Job {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Job, len(s.list))
	copy(out, s.list)
	return out
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
