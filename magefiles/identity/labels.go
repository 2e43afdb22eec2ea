package identity

import (
	"time"

	"github.com/shiplane/shiplane/magefiles/manifest"
)

// Label keys every artifact carries.
const (
	LabelVersion     = "org.opencontainers.image.version"
	LabelRevision    = "org.opencontainers.image.revision"
	LabelSource      = "org.opencontainers.image.source"
	LabelCreated     = "org.opencontainers.image.created"
	LabelLicenses    = "org.opencontainers.image.licenses"
	LabelDescription = "org.opencontainers.image.description"
	LabelTitle       = "org.opencontainers.image.title"
	// LabelInputs holds the component's input Key: the decision "already built/published" reads it.
	LabelInputs = "dev.shiplane.inputs"
	// LabelTrees lists the component's own input paths with their git object ids, for people.
	LabelTrees = "dev.shiplane.trees"
	// LabelComponent names the component.
	LabelComponent = "dev.shiplane.component"
)

// Stamp is what an artifact records about where it came from.
type Stamp struct {
	Version  string
	Revision string
	Created  time.Time
	Key      Key
	Trees    string
}

// Labels returns the labels (or annotations) for a component's artifact.
func Labels(m *manifest.Manifest, c *manifest.Component, s Stamp) map[string]string {
	l := map[string]string{
		LabelVersion:   s.Version,
		LabelRevision:  s.Revision,
		LabelCreated:   s.Created.UTC().Format(time.RFC3339),
		LabelTitle:     c.Name,
		LabelInputs:    string(s.Key),
		LabelTrees:     s.Trees,
		LabelComponent: c.Name,
	}
	if m.Source != "" {
		l[LabelSource] = m.Source
	}
	if m.License != "" {
		l[LabelLicenses] = m.License
	}
	// Always set, even empty: an image FROM another would otherwise inherit its description.
	l[LabelDescription] = c.Description
	return l
}
