package llm

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/stuurman/stuurman/agents"
)

// ProposeArgs is the argument of the propose_actions tool. It is the one
// definition both the JSON schema the model receives (see Schema) and the
// strict decoding of what it returns are derived from.
type ProposeArgs struct {
	Proposals []ProposedAction `json:"proposals" desc:"One proposal per action; a hold is a proposal too. At most one proposal per action kind; hold and scale exclude each other." schema:"minItems=1,maxItems=3"`
}

// ProposedAction is one proposal as the model writes it: the fields of
// agents.Proposal the model may set. The workload's identity, the current
// replica count and the agent's name are filled in by stuurman, never taken
// from the model.
type ProposedAction struct {
	Workload   string             `json:"workload" desc:"The workload's id exactly as given in the situation data (workload.id)."`
	Action     ProposedKind       `json:"action" desc:"What should happen: hold (change nothing), scale (set the replica count to replicas) or restart (rolling restart)." schema:"enum=hold|scale|restart"`
	Replicas   int                `json:"replicas,omitempty" desc:"Target replica count; required for scale, omitted otherwise." schema:"minimum=0"`
	Reason     string             `json:"reason" desc:"One or two sentences a human can check against evidence." schema:"minLength=1,maxLength=600"`
	Confidence float64            `json:"confidence" desc:"How much you trust this proposal, from 0 to 1." schema:"minimum=0,maximum=1"`
	Evidence   map[string]float64 `json:"evidence,omitempty" desc:"The numbers the reason rests on, by name (snake_case)." schema:"maxProperties=16"`
}

// ProposedKind is agents.ActionKind as the model writes it.
type ProposedKind = agents.ActionKind

// Schema returns the JSON schema of v's type, derived by reflection from
// its fields, their json names and the desc and schema tags:
//
//	desc:"text"                            the field's description
//	schema:"minimum=0,maximum=1"           numeric bounds
//	schema:"minLength=1,maxLength=600"     string length
//	schema:"minItems=1,maxItems=3"         array length
//	schema:"maxProperties=16"              object size
//	schema:"enum=a|b|c"                    allowed strings
//
// Fields without omitempty are required; every object forbids additional
// properties except maps. Structs, slices, string-keyed maps, strings,
// bools, integers and floats are supported; anything else panics (a
// programming error in the definition).
func Schema(v any) map[string]any {
	return schemaOf(reflect.TypeOf(v), "")
}

func schemaOf(t reflect.Type, tag string) map[string]any {
	s := map[string]any{}
	switch t.Kind() {
	case reflect.Struct:
		props := map[string]any{}
		required := []string{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fs := schemaOf(f.Type, f.Tag.Get("schema"))
			if d := f.Tag.Get("desc"); d != "" {
				fs["description"] = d
			}
			props[name] = fs
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		s["type"] = "object"
		s["properties"] = props
		s["required"] = required
		s["additionalProperties"] = false
		return s
	case reflect.Slice:
		s["type"] = "array"
		s["items"] = schemaOf(t.Elem(), "")
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			panic(fmt.Sprintf("llm: schema: map key %v is not a string", t.Key()))
		}
		s["type"] = "object"
		s["additionalProperties"] = schemaOf(t.Elem(), "")
	case reflect.String:
		s["type"] = "string"
	case reflect.Bool:
		s["type"] = "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s["type"] = "integer"
	case reflect.Float32, reflect.Float64:
		s["type"] = "number"
	default:
		panic(fmt.Sprintf("llm: schema: unsupported type %v", t))
	}
	if tag == "" {
		return s
	}
	for _, kv := range strings.Split(tag, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			panic(fmt.Sprintf("llm: schema: tag %q: want key=value", kv))
		}
		switch k {
		case "enum":
			s["enum"] = strings.Split(v, "|")
		case "minimum", "maximum":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				panic(fmt.Sprintf("llm: schema: tag %q: %v", kv, err))
			}
			s[k] = n
		case "minLength", "maxLength", "minItems", "maxItems", "maxProperties":
			n, err := strconv.Atoi(v)
			if err != nil {
				panic(fmt.Sprintf("llm: schema: tag %q: %v", kv, err))
			}
			s[k] = n
		default:
			panic(fmt.Sprintf("llm: schema: unknown tag key %q", k))
		}
	}
	return s
}
