package ari

import (
	"fmt"
	"reflect"
)

// typeName is the name of the struct ev points to, e.g. "StasisStart".
func typeName(ev Event) string { return reflect.TypeOf(ev).Elem().Name() }

func reflectValue(v any) reflect.Value { return reflect.ValueOf(v).Elem() }

// filler assigns distinct ids to every channel, bridge, endpoint and
// media target inside an event, remembering which it assigned.
type filler struct {
	n        int
	channels []ChannelID
	bridges  []BridgeID
}

func (f *filler) id(prefix string) string {
	f.n++
	return fmt.Sprintf("%s%d", prefix, f.n)
}

var (
	channelType  = reflect.TypeFor[Channel]()
	bridgeType   = reflect.TypeFor[Bridge]()
	endpointType = reflect.TypeFor[Endpoint]()
	bridgeIDType = reflect.TypeFor[BridgeID]()
	baseType     = reflect.TypeFor[EventBase]()
)

func (f *filler) fill(v reflect.Value) {
	switch v.Type() {
	case baseType:
		return
	case channelType:
		id := ChannelID(f.id("c"))
		v.FieldByName("ID").Set(reflect.ValueOf(id))
		f.channels = append(f.channels, id)
		return
	case bridgeType:
		id := BridgeID(f.id("b"))
		member := ChannelID(f.id("m"))
		v.FieldByName("ID").Set(reflect.ValueOf(id))
		v.FieldByName("Channels").Set(reflect.ValueOf([]ChannelID{member}))
		f.bridges = append(f.bridges, id)
		f.channels = append(f.channels, member)
		return
	case endpointType:
		id := ChannelID(f.id("e"))
		v.FieldByName("ChannelIDs").Set(reflect.ValueOf([]ChannelID{id}))
		f.channels = append(f.channels, id)
		return
	case bridgeIDType:
		id := BridgeID(f.id("d"))
		v.Set(reflect.ValueOf(id))
		f.bridges = append(f.bridges, id)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
			f.fill(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if sf.Name == "TargetURI" { // Playback, LiveRecording
				id := ChannelID(f.id("t"))
				v.Field(i).SetString("channel:" + string(id))
				f.channels = append(f.channels, id)
				continue
			}
			f.fill(v.Field(i))
		}
	}
}
