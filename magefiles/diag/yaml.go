package diag

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAMLProblem is the problem to report for data that yaml.Unmarshal refused with err: "not valid
// YAML: " and its (first) message without the "yaml: " prefix.
func YAMLProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	return "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")
}

// NodeKind names what n holds, for problems such as "expected a list, found …": "a mapping", "a
// list", or the scalar's value, quoted.
func NodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}
