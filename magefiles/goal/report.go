package goal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReportSchemaVersion is the version of the JSON report's schema, written as its "schemaVersion".
// It changes only when a field is renamed or removed, or a value changes meaning; new fields do not
// change it. Reports written before versioning have none and read as version 0.
const ReportSchemaVersion = 1

// ErrReportSchema is a JSON report whose schemaVersion is newer than ReportSchemaVersion.
var ErrReportSchema = errors.New("unsupported report schema version")

// reportFields is Report without its methods, so that its fields encode by their tags.
type reportFields Report

// reportJSON is the report as written: the schema version first, then the report's fields.
type reportJSON struct {
	SchemaVersion int `json:"schemaVersion"`
	*reportFields
}

// MarshalJSON writes the report with "schemaVersion" set to ReportSchemaVersion.
func (r Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(reportJSON{SchemaVersion: ReportSchemaVersion, reportFields: (*reportFields)(&r)})
}

// UnmarshalJSON reads a report of schema version ReportSchemaVersion or older (a report without
// "schemaVersion" is version 0, whose statuses were display phrases); a newer one is an error
// wrapping ErrReportSchema.
func (r *Report) UnmarshalJSON(b []byte) error {
	v := reportJSON{reportFields: (*reportFields)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.SchemaVersion < 0 || v.SchemaVersion > ReportSchemaVersion {
		return fmt.Errorf("reading report: schemaVersion %d (this shiplane reads up to %d): %w",
			v.SchemaVersion, ReportSchemaVersion, ErrReportSchema)
	}
	return nil
}

// WriteJSON writes the report as indented JSON, in the schema the package documentation describes.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	return nil
}

// WriteFile writes the JSON report to path, replacing it atomically.
func (r *Report) WriteFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".report-*.json")
	if err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	return nil
}
