package ari_test

import (
	"context"
	"errors"
	"os"

	"github.com/rs/zerolog"

	"github.com/transferd/transferd/ari"
)

// Example originates a call with an id chosen up front, having subscribed
// to that id first, and follows it until it ends. It compiles as part of
// the tests; it does not run (there is no Asterisk here).
func Example() {
	ctx := context.Background()
	log := zerolog.New(os.Stderr)

	tr, err := ari.NewHTTPTransport(ari.HTTPOptions{
		URL:      "http://127.0.0.1:8088/ari",
		Username: "transferd",
		Password: ari.Secret(os.Getenv("ARI_PASSWORD")),
	})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	c, err := ari.New(ari.Options{Transport: tr, Apps: []string{"transferd"}, Logger: log})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	go func() {
		if err := c.Run(ctx); !errors.Is(err, context.Canceled) {
			log.Error().Err(err).Msg("ari stopped")
		}
	}()
	<-c.Connected()

	id := ari.ChannelID("xfer1-target")
	sub := c.Subscribe(ari.Filter{ChannelIDs: []ari.ChannelID{id}})
	defer sub.Close()
	_, err = c.Channels.Originate(ctx, ari.OriginateParams{
		Endpoint: "Local/201@phones", App: "transferd", AppArgs: "target", ChannelID: id,
	})
	switch {
	case errors.Is(err, ari.ErrConflict):
		log.Warn().Msg("a channel with that id exists already")
		return
	case err != nil:
		log.Error().Err(err).Int("status", ari.StatusOf(err)).Msg("originate")
		return
	}
	for ev := range sub.Events() {
		switch e := ev.(type) {
		case *ari.StasisStart:
			if err := c.Channels.Answer(ctx, e.Channel.ID); ari.IsNotInStasis(err) {
				return // it hung up meanwhile
			}
		case *ari.ChannelDestroyed:
			log.Info().Int("cause", e.Cause).Str("cause_txt", e.CauseTxt).Msg("target gone")
			return
		case *ari.Reconnected:
			// Events were missed for e.Down: re-read the channel's state.
			if _, err := c.Channels.Get(ctx, id); errors.Is(err, ari.ErrNotFound) {
				return
			}
		}
	}
}
