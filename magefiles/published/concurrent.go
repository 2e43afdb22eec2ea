package published

import "fmt"

// ConcurrentWriteError is another write of the same tag racing a push that may not overwrite it.
// A push asks the tag right before its manifest PUT and reads it back right after: a tag that
// appeared while the blobs uploaded is refused with AfterPut false (the tag is not written;
// errors.As finds Exists too), and a tag the read-back finds holding another manifest, or gone,
// fails with AfterPut true. OCI has no conditional PUT: another write landing between the last
// check and the PUT (one round trip) is replaced unseen; registry-side tag immutability is what
// closes that window.
type ConcurrentWriteError struct {
	// Kind is what was pushed: "image" or "chart".
	Kind string
	// Ref is the tag, e.g. "registry.example/core:1.2.0".
	Ref string
	// Ours is what the push wrote or was about to; Theirs is what the tag holds now ("" when the
	// read-back found it gone).
	Ours, Theirs string
	// AfterPut says the other write was found by the read-back after this push's manifest PUT.
	AfterPut bool
	// Exists is the backend's "the tag already holds something else" error, which a refusal
	// before the PUT also is (Unwrap returns it).
	Exists error
}

func (e *ConcurrentWriteError) Error() string {
	if !e.AfterPut {
		return fmt.Sprintf("refusing to overwrite %s %s: someone else wrote it while this push uploaded its blobs: "+
			"it holds %s, this %s is %s", e.Kind, e.Ref, e.Theirs, e.Kind, e.Ours)
	}
	theirs := "holds " + e.Theirs
	if e.Theirs == "" {
		theirs = "is gone"
	}
	return fmt.Sprintf("%s %s was written by someone else right after this push wrote %s to it: it now %s; "+
		"find out which push is right before using it", e.Kind, e.Ref, e.Ours, theirs)
}

// Unwrap makes a refusal before the PUT also the backend's exists error: the tag held another
// manifest when asked, as if the push had found it at the start.
func (e *ConcurrentWriteError) Unwrap() error {
	if e.AfterPut {
		return nil
	}
	return e.Exists
}
