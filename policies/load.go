package policies

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// LoadFile reads and validates the YAML policy at path; see Load.
func LoadFile(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, err
	}
	return Load(b, path)
}

// Load parses a YAML policy, applies its defaults and validates it. Unknown
// fields, wrong types and invalid values are errors that name the file, the
// line and the field, e.g.
//
//	policy.yaml:4: scaleUp.maxStepPercent: must be a finite number >= 0, got -5
//	policy.yaml:12: rules[1].expression: rule "big-jump" does not compile: 1:10: undefined field 'replica'
//
// Every invalid field is reported, not only the first.
func Load(b []byte, name string) (Policy, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return Policy{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(root.Content) == 0 {
		return Policy{}, fmt.Errorf("%s: empty policy: at least maxReplicas is required", name)
	}
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	p = p.Defaults()
	err := p.Validate()
	if err == nil {
		return p, nil
	}
	var errs []error
	for _, e := range unjoin(err) {
		var fe *FieldError
		if errors.As(e, &fe) {
			errs = append(errs, fmt.Errorf("%s:%d: %w", name, lineOf(root.Content[0], fe.Field), fe))
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, e))
	}
	return Policy{}, errors.Join(errs...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// lineOf returns the line of a field path in a YAML mapping — dotted keys,
// each optionally indexed: "freezes[0].schedule", "protected.workloads[2]"
// — or of its deepest existing parent (1 for the document) when it is
// absent.
func lineOf(n *yaml.Node, path string) int {
	line := max(n.Line, 1)
	for _, part := range strings.Split(path, ".") {
		key, idx := splitIndex(part)
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
		for _, j := range idx {
			if n.Kind != yaml.SequenceNode || j >= len(n.Content) {
				return line
			}
			n = n.Content[j]
			line = n.Line
		}
	}
	return line
}

// splitIndex splits "rules[1]" into "rules" and [1].
func splitIndex(part string) (key string, idx []int) {
	key, rest, ok := strings.Cut(part, "[")
	if !ok {
		return part, nil
	}
	for _, s := range strings.Split(strings.TrimSuffix(rest, "]"), "][") {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 {
			return key, idx
		}
		idx = append(idx, i)
	}
	return key, idx
}
