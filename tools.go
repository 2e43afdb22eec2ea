//go:build tools

// Package tools records the modules the zero-install entry (mage.go, build tag ignore, which go mod
// tidy does not read) needs, so go.mod keeps them.
package tools

import _ "github.com/magefile/mage/mage"
