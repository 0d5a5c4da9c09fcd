package app

// Asterisk keeps one event session per Stasis application name, and when
// a session ends it unregisters its applications by name. So when another
// session of transferd's application ends after transferd's own was
// opened (the old connection of a restarted transferd that Asterisk closes
// late, a half-open connection Asterisk gives up on after transferd
// redialled, a stray client of the same name), Asterisk forgets the
// application: transferd's session stays up but hears nothing, and
// Stasis() refuses every new call. Nothing tells the session that lost it.
// So while the stream is up transferd checks that Asterisk still has its
// application, and redials the stream (which registers it again) when not.
// Checked on Asterisk 22.10 (GET /applications/<app> answers 404 then).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transferd/transferd/ari"
)

// registrationCheck is how often the application's registration is read.
const registrationCheck = 5 * time.Second

// watchRegistration redials the event stream whenever Asterisk no longer
// has the application while the stream is up. Only where transferd holds
// the event session itself (not behind NATS, where the proxy does).
func (a *App) watchRegistration(ctx context.Context) {
	t := time.NewTicker(registrationCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !a.client.Stats().Connected {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, registrationCheck)
		_, err := a.client.Applications.Get(rctx, a.cfg.ARI.App)
		cancel()
		if errors.Is(err, ari.ErrNotFound) {
			a.log.Warn().Str("app", a.cfg.ARI.App).
				Msg("Asterisk no longer has the application though the event stream is up (another event session of that name ended): reconnecting to register it again")
			a.client.Drop(fmt.Errorf("asterisk no longer has application %s", a.cfg.ARI.App))
		}
	}
}
