// Package published is the question every release decision starts from: what is already out there?
// Each answer is present or absent; an answer that cannot be had (5xx, timeout, unreadable reply)
// is an error wrapping ErrUnknown, and callers must never read it as "absent".
package published

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknown marks an answer that could not be had. A check that cannot tell fails.
var ErrUnknown = errors.New("cannot tell whether it is published")

// UnknownError says which question could not be answered and why.
type UnknownError struct {
	// What was asked about, e.g. "image registry.example/core:1.2.0".
	What string
	Err  error
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("cannot tell whether %s is published: %v", e.What, e.Err)
}

// Is makes errors.Is(err, ErrUnknown) true.
func (e *UnknownError) Is(target error) bool { return target == ErrUnknown }

// Unwrap returns the cause.
func (e *UnknownError) Unwrap() error { return e.Err }

// Image is what a registry holds under one tag: one image, or an image index of one image per
// platform.
type Image struct {
	Present bool
	// Digest of the manifest the tag points at: the index's, when it is an index.
	Digest string
	// Inputs is the image's dev.shiplane.inputs label; for an index, the label every platform's
	// image carries (they must agree).
	Inputs string
	// Labels are the image config's labels; for an index, the first platform's.
	Labels map[string]string
	// Platforms are the index's images, in its order; nil when the tag holds a plain image (and
	// when the answer came from a memo of the digest's identity rather than a read).
	Platforms []Platform
}

// Platform is one platform's image in an image index.
type Platform struct {
	// Platform is "os/arch[/variant]", e.g. "linux/arm64".
	Platform string `json:"platform"`
	// Digest is that image's manifest digest.
	Digest string `json:"digest"`
}

// Chart is what an OCI chart repository holds for one chart version.
type Chart struct {
	Present bool
	Digest  string
	// Inputs is the chart manifest's dev.shiplane.inputs annotation.
	Inputs string
}

// Tag is a git tag on the remote.
type Tag struct {
	Present bool
	// Commit the tag points at (peeled).
	Commit string
}

// Release is a GitHub release.
type Release struct {
	Present bool
	Draft   bool
	// Assets are the names of the attached assets.
	Assets []string
}

// Images answers for image tags: ref is "registry/repository:tag".
type Images interface {
	Image(ctx context.Context, ref string) (Image, error)
}

// Charts answers for chart versions in an OCI repository ("oci://host/path").
type Charts interface {
	Chart(ctx context.Context, repo, name, version string) (Chart, error)
}

// Tags answers for git tags on the remote.
type Tags interface {
	Tag(ctx context.Context, name string) (Tag, error)
}

// Releases answers for GitHub releases by tag.
type Releases interface {
	Release(ctx context.Context, tag string) (Release, error)
}

// State answers all four questions.
type State interface {
	Images
	Charts
	Tags
	Releases
}

// RecordSuffix ends the name of a record asset: a file an after-publish goal attaches to a
// published GitHub release to remember what it did ("webhook-chat.sent"). A record is not part
// of the release's content: deciding whether a release is complete leaves records out.
const RecordSuffix = ".sent"

// IsRecord reports whether a release asset's name is a record's (see RecordSuffix).
func IsRecord(name string) bool {
	return strings.HasSuffix(name, RecordSuffix) && len(name) > len(RecordSuffix)
}
