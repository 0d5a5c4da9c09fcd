package ari

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// untypedEvents are Event subtypes in events.json that decode as *Unknown
// on purpose. RESTResponse only travels on a websocket that carries REST
// requests, which transferd does not use.
var untypedEvents = map[string]bool{"RESTResponse": true}

// goModelNames maps spec model ids to Go type names where Go's initialism
// rules differ.
var goModelNames = map[string]string{"SetId": "SetID"}

// TestEventsContract checks every typed event against its model in
// events.json, in both directions: each json tag is a property of the model
// with a compatible type, and each property of the model has a field. It also
// checks every Event subtype in the spec is typed or explicitly left untyped.
func TestEventsContract(t *testing.T) {
	spec := loadSpec(t)
	events := spec.files["events.json"]
	eventModel, ok := events.Models["Event"]
	if !ok {
		t.Fatal(`events.json has no "Event" model`)
	}
	for _, sub := range eventModel.SubTypes {
		if _, ok := eventTypes[sub]; !ok && !untypedEvents[sub] {
			t.Errorf("events.json has event %s, which Decode does not type (add it to events.go, or to untypedEvents with a reason)", sub)
		}
	}
	for _, typ := range sortedKeys(eventTypes) {
		if !slices.Contains(eventModel.SubTypes, typ) {
			t.Errorf("eventTypes has %s, which is not an Event subtype in events.json", typ)
		}
		model, ok := spec.models[typ]
		if !ok {
			t.Errorf("events.json has no model %s", typ)
			continue
		}
		ev := eventTypes[typ]()
		if got := typeName(ev); got != typ {
			t.Errorf("eventTypes[%q] makes *%s", typ, got)
		}
		checkModel(t, spec, reflect.TypeOf(ev).Elem(), model, map[reflect.Type]bool{})
	}

	// EventBase carries the properties of Message and Event, which every
	// event model extends.
	merged := specModel{ID: "Message+Event", Properties: map[string]specProp{}}
	for _, id := range []string{"Message", "Event"} {
		for name, p := range events.Models[id].Properties {
			merged.Properties[name] = p
		}
	}
	checkModel(t, spec, baseType, merged, map[reflect.Type]bool{})
}

// TestModelsContract checks the REST answer models the same way.
func TestModelsContract(t *testing.T) {
	spec := loadSpec(t)
	for _, v := range []any{
		Channel{}, Bridge{}, Playback{}, Endpoint{}, DeviceState{}, Application{},
		Variable{}, AsteriskInfo{}, AsteriskPing{},
	} {
		typ := reflect.TypeOf(v)
		model, ok := spec.models[typ.Name()]
		if !ok {
			t.Errorf("no model %s in the spec", typ.Name())
			continue
		}
		checkModel(t, spec, typ, model, map[reflect.Type]bool{})
	}
}

// checkModel compares struct typ with model, recursing into nested models.
func checkModel(t *testing.T, spec *restSpec, typ reflect.Type, model specModel, seen map[reflect.Type]bool) {
	t.Helper()
	if seen[typ] {
		return
	}
	seen[typ] = true
	tags := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Anonymous && f.Type == baseType {
			continue // checked once against Message+Event
		}
		tag := jsonName(f.Tag.Get("json"))
		if tag == "" || tag == "-" {
			t.Errorf("%s.%s has no json tag", typ.Name(), f.Name)
			continue
		}
		tags[tag] = true
		prop, ok := model.Properties[tag]
		if !ok {
			t.Errorf("%s.%s: json %q is not a property of model %s", typ.Name(), f.Name, tag, model.ID)
			continue
		}
		if prob := checkType(spec, prop.Type, f.Type, seen, t); prob != "" {
			t.Errorf("%s.%s (%q): %s", typ.Name(), f.Name, tag, prob)
		}
	}
	for _, name := range sortedKeys(model.Properties) {
		if !tags[name] {
			t.Errorf("model %s property %q (%s) has no field in %s", model.ID, name, model.Properties[name].Type, typ.Name())
		}
	}
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// checkType reports how Go type got cannot hold spec type want, or "".
func checkType(spec *restSpec, want string, got reflect.Type, seen map[reflect.Type]bool, t *testing.T) string {
	if got.Kind() == reflect.Pointer {
		got = got.Elem()
	}
	ok := false
	switch {
	case want == "string" || want == "Date":
		ok = got.Kind() == reflect.String
	case want == "int" || want == "long":
		ok = got.Kind() >= reflect.Int && got.Kind() <= reflect.Int64
	case want == "double":
		ok = got.Kind() == reflect.Float64
	case want == "boolean":
		ok = got.Kind() == reflect.Bool
	case want == "object":
		ok = got == rawMessageType || got.Kind() == reflect.Map
	case strings.HasPrefix(want, "List[") && strings.HasSuffix(want, "]"):
		if got.Kind() != reflect.Slice || got == rawMessageType {
			break
		}
		return checkType(spec, want[len("List["):len(want)-1], got.Elem(), seen, t)
	default:
		model, found := spec.models[want]
		if !found {
			return fmt.Sprintf("spec type %q is unknown", want)
		}
		goName := want
		if n, ok := goModelNames[want]; ok {
			goName = n
		}
		if got.Kind() != reflect.Struct || got.Name() != goName {
			return fmt.Sprintf("Go type %s, want struct %s", got, goName)
		}
		checkModel(t, spec, got, model, seen)
		return ""
	}
	if !ok {
		return fmt.Sprintf("Go type %s cannot hold spec type %s", got, want)
	}
	return ""
}
