// Package ari is transferd's client for the Asterisk REST Interface: typed
// REST calls for the resources transferd uses, and an event stream with
// reconnect and per-call subscriptions.
//
// The package has two layers. A Transport carries one request and returns
// Asterisk's answer uninterpreted (like http.RoundTripper), and opens event
// streams; HTTPTransport does so over HTTP and a websocket, and
// natstransport.Transport over NATS (ari-proxy's protocol), repeating no
// resource code. The Client builds requests from Asterisk's own path
// templates, maps any non-2xx answer to *Error (matched with errors.Is
// against ErrNotFound, ErrConflict, …), and runs the event loop.
//
// Events are typed structs named as in Asterisk's events.json
// (*StasisStart, *ChannelDtmfReceived, …). A type this package does not know
// arrives as *Unknown with the raw JSON; nothing is dropped. Subscriptions
// filter by application, channel, bridge and type, each get an ordered,
// unbounded queue, and never block the reader. When the stream drops, every
// subscription receives *Disconnected, and *Reconnected once it is back, so
// the application can reconcile what it missed.
//
// Choose ids on the client side and subscribe before creating the resource,
// so its first events cannot be missed:
//
//	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{
//		URL:      "http://127.0.0.1:8088/ari",
//		Username: "transferd",
//		Password: ari.Secret(os.Getenv("ARI_PASSWORD")),
//	})
//	if err != nil {
//		return err
//	}
//	c, err := ari.New(ari.Options{Transport: tr, Apps: []string{"transferd"}, Logger: log})
//	if err != nil {
//		return err
//	}
//	go c.Run(ctx) // returns ctx.Err() when ctx ends
//	<-c.Connected()
//
//	id := ari.ChannelID("xfer1-target")
//	sub := c.Subscribe(ari.Filter{ChannelIDs: []ari.ChannelID{id}})
//	defer sub.Close()
//	if _, err := c.Channels.Originate(ctx, ari.OriginateParams{
//		Endpoint: "Local/201@phones", App: "transferd", ChannelID: id,
//	}); err != nil {
//		return err
//	}
//	for ev := range sub.Events() {
//		switch e := ev.(type) {
//		case *ari.StasisStart:
//			// the target answered and entered Stasis
//		case *ari.ChannelDestroyed:
//			log.Info().Int("cause", e.Cause).Msg("target gone")
//			return nil
//		case *ari.Reconnected:
//			// events were missed for e.Down: re-read the channel's state
//		}
//	}
package ari
