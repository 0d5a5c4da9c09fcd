package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/transferd/transferd/app/featurecode"
	"github.com/transferd/transferd/app/media"
	"github.com/transferd/transferd/ari"
	"github.com/transferd/transferd/transfer"
)

// Errors a feature code or an API command can meet. The HTTP API maps them
// to status codes.
var (
	ErrUnknownCall        = errors.New("unknown call")
	ErrTransferInProgress = errors.New("a transfer is already in progress on this call")
	ErrNoTransfer         = errors.New("no transfer in progress on this call")
	ErrNotBridged         = errors.New("call is not bridged with exactly one other party")
	ErrTargetOnCall       = errors.New("target is already a party of this call")
	ErrInvalidTarget      = errors.New("invalid target")
	ErrNotTransferor      = errors.New("only the transferor controls this transfer")
	ErrInvalidTakeback    = errors.New("invalid takeback code")
	// ErrAsteriskUnavailable: ARI does not answer, so the action could not
	// be carried out (the API answers 503 with Retry-After).
	ErrAsteriskUnavailable = errors.New("Asterisk (ARI) is unreachable")
)

// onDigit feeds a DTMF digit from a leg to its feature-code collector.
//
// Digits reach the other party only through the app: legs join bridges with
// absorbDTMF, and digits that are not part of a feature code are sent on
// (SendDTMF), so a code is never heard by the other side while ordinary
// digits (an IVR menu choice) still are.
func (c *Call) onDigit(ctx context.Context, l *leg, digit string) {
	if l.gone || !l.answered {
		return
	}
	if !c.listens(l) {
		c.forward(ctx, l, digit)
		return
	}
	c.onDigitResult(ctx, l, l.collector.Feed(digit))
}

// listens says whether feature codes are taken from this leg (metaflows.listen_on).
func (c *Call) listens(l *leg) bool {
	switch c.acct.cfg.Metaflows.ListenOn {
	case "caller":
		return l.role == roleCaller
	case "callee":
		return l.role == roleCallee
	}
	return true
}

func (c *Call) onDigitResult(ctx context.Context, l *leg, r featurecode.Result) {
	if l.digitStop != nil {
		l.digitStop()
		l.digitStop = nil
	}
	// Digits the matcher gives up on (outside a sequence, or an abandoned
	// sequence) go on to the other party whatever the result's kind.
	c.forward(ctx, l, r.Forward)
	if h := c.prehold; h != nil && h.transferor == l.id {
		c.stopDialTone(h) // her first digit after the prefix
	}
	c.keepPreHold(ctx, l, r)
	switch r.Kind {
	case featurecode.Pending:
		c.preHoldFor(ctx, l)
		l.digitGen++
		gen, id := l.digitGen, l.id
		t := time.AfterFunc(c.acct.cfg.Metaflows.DigitTimeout, func() { c.post(digitExpiry{leg: id, gen: gen}) })
		l.digitStop = t.Stop
	case featurecode.Matched:
		c.codeAt = time.Now()
		c.log.Info().Str(keyChannelID, string(l.id)).Str("code", r.Code).Str("module", r.Action.Module).Msg("feature code")
		if err := c.onCode(ctx, l, r); err != nil {
			c.releasePreHold(ctx, "the code was refused")
			c.log.Warn().Err(err).Str(keyChannelID, string(l.id)).Str("code", r.Code).Msg("feature code refused")
			c.playFail(ctx, l.id)
		}
	case featurecode.NoMatch:
		c.log.Info().Str(keyChannelID, string(l.id)).Str("digits", r.Forward).Msg("digits match no feature code; passed on")
	case featurecode.None:
	default:
		c.log.Warn().Err(r.Err).Str(keyChannelID, string(l.id)).Msg("digit ignored")
	}
}

// forward sends digits on to the parties the leg talks to. During a
// transfer who talks to whom changes quickly, so digits are not passed on.
// Behind the stock ari-proxy (nats.stock_server) legs cannot join with
// absorbDTMF (it drops the flag): the bridge already carries every digit,
// so sending them again would double them.
func (c *Call) forward(ctx context.Context, from *leg, digits string) {
	if digits == "" || c.xfer != nil || c.app.cfg.NATS.StockServer {
		return
	}
	for _, p := range c.liveParties() {
		if p.id == from.id {
			continue
		}
		if err := c.app.client.Channels.SendDTMF(ctx, p.id, ari.DTMFParams{DTMF: digits}); err != nil {
			c.log.Debug().Err(err).Str(keyChannelID, string(p.id)).Msg("forward dtmf")
		}
	}
}

// onCode acts on a matched feature code.
func (c *Call) onCode(ctx context.Context, l *leg, r featurecode.Result) error {
	var number string
	if transfer.StartsTransfer(r.Action.Module) {
		if len(r.Args) == 0 || r.Args[0] == "" {
			return fmt.Errorf("%w: the code's pattern captured no number", ErrInvalidTarget)
		}
		number = r.Args[0]
	}
	return c.act(ctx, l, r.Action.Module, number, r.Action.Data)
}

// act carries out one action of the vocabulary (transfer.Actions: a feature
// code's module or an HTTP API action) for the party l: start a transfer to
// number with data's overrides, or press the command the action names.
func (c *Call) act(ctx context.Context, l *leg, action, number string, data map[string]string) error {
	if transfer.StartsTransfer(action) {
		_, err := c.startTransfer(ctx, l, number, data, action == transfer.ActionBlindTransfer)
		return err
	}
	if cmd := transfer.CommandNamed(action); cmd != transfer.CommandNone {
		return c.press(ctx, l, cmd)
	}
	return fmt.Errorf("unknown action %q", action)
}

// press delivers a transfer control (cancel, swap, ...) from the transferor.
func (c *Call) press(ctx context.Context, l *leg, cmd transfer.Command) error {
	if c.xfer == nil {
		return ErrNoTransfer
	}
	if string(l.id) != c.xfer.Transferor {
		return ErrNotTransferor
	}
	if err := transfer.CanApply(*c.xfer, cmd); err != nil {
		return err
	}
	c.step(ctx, transfer.Pressed{Command: cmd})
	return nil
}

// startTransfer starts an attended (or blind) transfer by the transferor l
// to number. data are the transfer pattern's (or API request's) overrides.
func (c *Call) startTransfer(ctx context.Context, l *leg, number string, data map[string]string, blind bool) (string, error) {
	// Kazoo's per-transfer takeback_dtmf: a code the account does not
	// already take as a cancel is listened for during this transfer only.
	// A code that cannot work is refused before anything else is looked at.
	takeback, err := c.takebackFor(data)
	if err != nil {
		return "", err
	}
	if c.xfer != nil {
		return "", ErrTransferInProgress
	}
	if !ValidNumber(number) {
		return "", fmt.Errorf("%w: %q: only digits, letters and + * # - _ . are allowed", ErrInvalidTarget, number)
	}
	if c.phase != phaseTalking || l.gone || !l.answered {
		return "", ErrNotBridged
	}
	others := c.othersThan(l)
	for _, p := range c.legs {
		if !p.gone && (p.number == number || (p.role != roleCaller && p.callback == number)) {
			return "", fmt.Errorf("%w: %s", ErrTargetOnCall, number)
		}
	}
	if len(others) != 1 {
		return "", fmt.Errorf("%w: %d other parties", ErrNotBridged, len(others))
	}
	opts, err := c.transferOptions(l, data)
	if err != nil {
		return "", err
	}
	// A hold made ahead of a code serves the transfer it was made for:
	// this party's, of this transferee, holding at once.
	h := c.prehold
	keep := h != nil && h.transferor == l.id && h.transferee == others[0].id && !opts.CheckAvailability
	id := c.takeXferID(ctx, keep)
	t, effects := transfer.Start(transfer.StartParams{
		ID: id, CallBridge: string(c.bridge), Transferor: string(l.id), Transferee: string(others[0].id),
		Number: number, Opts: opts,
	})
	if c.prehold != nil && t.HoldBridge != string(c.prehold.bridge) {
		c.releasePreHold(ctx, "the transfer did not start") // invalid parameters: it failed at once
	}
	c.xfer = &t
	if takeback != nil {
		l.collector = takeback.NewCollector()
		l.ownCollector = true
	}
	c.xferStarted = time.Now()
	c.holdPending = true
	c.xferLog = c.log.With().Str(keyTransferID, id).Logger()
	c.xferLog.Info().Str("transferor", string(l.id)).Str("transferee", string(others[0].id)).Str("target", number).
		Bool("blind", blind).Stringer("to", t.State).Msg("transfer started")
	c.markStart(ctx, l, blind)
	c.stopDialTone(c.prehold) // sent at her first digit already, as a rule
	c.apply(ctx, effects, nil)
	c.prehold = nil // its work is the transfer's now
	c.drain(ctx)
	c.bill.startDue = true // raised once the target rings (celStartDue)
	if blind && c.xfer != nil && c.xfer.ID == id {
		c.hangup(ctx, l.id, "normal")
	}
	return id, nil
}

// othersThan returns the parties up besides l.
func (c *Call) othersThan(l *leg) []*leg {
	var others []*leg
	for _, p := range c.liveParties() {
		if p.id != l.id {
			others = append(others, p)
		}
	}
	return others
}

// xferID is the id of the call's n-th transfer.
func (c *Call) xferID(n int) string { return fmt.Sprintf("%s-x%d", c.id, n) }

// takeXferID gives a transfer starting now its id. A hold made ahead of a
// code (prehold.go) has that id already: it stays only for the transfer it
// was made for (keep); any other start releases it first, so the id of its
// destroyed bridge is not used again.
func (c *Call) takeXferID(ctx context.Context, keep bool) string {
	if !keep {
		c.releasePreHold(ctx, "another transfer")
	}
	c.xferCount++
	return c.xferID(c.xferCount)
}

// transferOptions merges the account's transfer options with per-code or
// per-request data (Kazoo's pattern data, featurecode's *Data keys).
func (c *Call) transferOptions(transferor *leg, data map[string]string) (transfer.Options, error) {
	t := c.acct.cfg.Transfer
	o := transfer.Options{
		MOHClass: t.MOH, Ringback: t.Ringback, NoAnswerTimeout: t.NoAnswerTimeout, LoopDelay: t.LoopDelay,
		CallbackRetries: t.CallbackRetries, Callback: transferor.callback, FailSound: t.FailSound,
		CompleteSound: t.CompleteSound, OnTransfereeLeft: t.OnTransfereeLeft,
		CheckAvailability: t.CheckAvailability && c.acct.cfg.AvailabilityDevice != "",
		Fallback:          transfer.FallbackOptions{Kind: t.Fallback.Kind, Number: t.Fallback.Number, Sound: t.Fallback.Sound},
	}
	for k, v := range data {
		switch k {
		case featurecode.MOHData:
			if v != "" {
				if !media.ValidClass(v) {
					return o, fmt.Errorf("%s: %q is not %s", k, v, media.ClassRule)
				}
				o.MOHClass = v
			}
		case featurecode.RingbackData:
			if v != "" {
				// Checked where it came from (API, configuration); checked
				// again here, the last step before Asterisk.
				if err := media.Check(v, c.acct.cfg.MediaAllow); err != nil {
					return o, fmt.Errorf("%s: %w", k, err)
				}
				o.Ringback = v
			}
		case featurecode.NoAnswerTimeoutData:
			d, err := parseSeconds(v)
			if err != nil {
				return o, fmt.Errorf("%s: %w", k, err)
			}
			o.NoAnswerTimeout = d
		case featurecode.TakebackData:
			// Registered as a cancel code by the matcher.
		}
	}
	return o, nil
}

// parseSeconds reads "20", "20s" or "1m".
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("must be seconds or a duration > 0, got %q", v)
	}
	return d, nil
}

func (c *Call) playFail(ctx context.Context, id ari.ChannelID) {
	media := c.acct.cfg.Transfer.FailSound
	if media == "" {
		return
	}
	if _, err := c.app.client.Channels.Play(ctx, id, ari.PlayParams{Media: []string{media}}); err != nil {
		c.log.Debug().Err(err).Msg("play fail sound")
	}
}
