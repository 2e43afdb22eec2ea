package pipeline

import "github.com/shiplane/shiplane/magefiles/redact"

// Redactor is the shared redactor (package redact) the pipeline feeds and masks its output with.
type Redactor = redact.Redactor

// RedactWriter is the masking writer Redactor.Writer returns.
type RedactWriter = redact.Writer

// Mask replaces every secret in redacted output.
const Mask = redact.Mask

// NewRedactor returns an empty Redactor (redact.New).
func NewRedactor() *Redactor { return redact.New() }
