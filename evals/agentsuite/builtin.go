package agentsuite

import "embed"

//go:embed scenarios/*.yaml
var builtin embed.FS

// Builtin returns the scenarios shipped with stuurman, sorted by file
// name.
func Builtin() ([]Scenario, error) { return Load(builtin, "scenarios") }
