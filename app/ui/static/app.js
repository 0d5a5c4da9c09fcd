// transferd operator page: the account's live calls and one-tap transfer
// buttons. Plain JavaScript with no dependency and no build step (see
// app/ui/ui.go for why). It uses the HTTP API only:
//
//   GET  ../v2/accounts/{account}/channels            the calls, at sign-in
//   GET  ../v2/accounts/{account}/events              live changes (SSE)
//   POST ../v2/accounts/{account}/channels/{call_id}  {"data":{"action":...}}
//
// The token is kept in this tab's sessionStorage and sent as the
// X-Auth-Token header; it is never put in a URL and never logged.
// EventSource cannot send headers, so the event stream is read with fetch
// and parsed here (sseParser), reconnecting with backoff by itself.
'use strict';

(() => {
  const SESSION_KEY = 'transferd.session'; // sessionStorage: {account, token}
  const RECENT_KEY = 'transferd.recent'; // localStorage: recent numbers only
  const RECENT_MAX = 6;
  const ENDED_KEEP_MS = 5000; // an ended call stays on screen this long
  const STALL_MS = 45000; // no byte for this long (3 keep-alives): reconnect
  const BACKOFF_MAX_MS = 30000;

  // The commands each running transfer state takes, from the transfer state
  // machine (transfer.Accepts). A button is shown only when its command is
  // listed for the current state; app/ui/ui_test.go checks this table
  // against the Go one, so they cannot drift apart.
  // BEGIN ALLOWED
  const ALLOWED = {
    "Checking": ["cancel"],
    "CallingTarget": ["cancel", "complete", "swap", "threeway"],
    "Hesitant": ["cancel", "complete", "swap", "threeway"],
    "Consulting": ["cancel", "complete", "swap", "threeway"],
    "DoubleChecking": ["cancel", "complete", "swap", "threeway"],
    "Blond": [],
    "Recalling": [],
    "WaitToRetransfer": [],
    "Retransfer": [],
    "WaitToRecall": [],
    "Fallback": []
  };
  // END ALLOWED

  // What may go into a dial string (the API checks the same).
  const NUMBER_RE = /^[0-9A-Za-z+*#._-]{1,64}$/;

  const ROLE_WORDS = { caller: 'Caller', callee: 'Called', target: 'Target', recall: 'Call-back', fallback: 'Fallback' };
  const ACTION_WORDS = {
    transfer: 'Transfer', blind_transfer: 'Blind transfer', cancel: 'Cancel',
    complete: 'Complete', swap: 'Swap', threeway: 'Three-way',
  };
  const CONFLICT_WORDS = {
    transfer_in_progress: 'A transfer is already running on this call.',
    no_transfer: 'There is no transfer to act on any more.',
    not_bridged: 'The call is not two parties talking right now (still ringing, or a conference).',
    target_on_call: 'That number is already on this call.',
    not_transferor: 'Only the party who started the transfer can do that.',
    invalid_state: 'That is not possible in the transfer\'s current state.',
  };

  const $ = (id) => document.getElementById(id);

  let session = null; // {account, token}
  let generation = 0; // bumped at sign-in and sign-out: stale loops stop
  let streamAbort = null;
  let wake = null; // cuts a reconnect wait short
  let skewMs = 0; // server clock minus ours, when they differ by > 2 s
  const calls = new Map(); // call id -> the call's latest view (CallInfo)
  const cards = new Map(); // call id -> card elements
  let cardSeq = 0;

  // ---- API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, reason, message) {
      super(message);
      this.status = status;
      this.reason = reason;
    }
  }

  function apiURL(path) {
    return new URL('../v2/accounts/' + encodeURIComponent(session.account) + path, location.href).toString();
  }

  function headers(extra) {
    return Object.assign({ 'X-Auth-Token': session.token }, extra);
  }

  function noteServerTime(res) {
    const d = Date.parse(res.headers.get('Date') || '');
    if (!Number.isNaN(d)) {
      const skew = d - Date.now();
      skewMs = Math.abs(skew) > 2000 ? skew : 0;
    }
  }

  async function api(method, path, body) {
    const init = {
      method, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      headers: headers(body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' }),
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    let res;
    try {
      res = await fetch(apiURL(path), init);
    } catch (e) {
      throw new ApiError(0, 'network', 'transferd cannot be reached (' + e.message + ')');
    }
    noteServerTime(res);
    let env = null;
    try {
      env = await res.json();
    } catch (e) {
      env = null;
    }
    if (res.ok && env && env.status === 'success') return env.data;
    const reason = (env && env.data && env.data.reason) || '';
    const message = (env && env.message) || ('HTTP ' + res.status + ' ' + res.statusText);
    throw new ApiError(res.status, reason, message);
  }

  // explain turns a refusal into words for a person; the API's own message,
  // which names exactly what was wrong, always follows.
  function explain(err) {
    const msg = err.message;
    switch (err.status) {
      case 0: return 'transferd cannot be reached. Check the connection and try again. (' + msg + ')';
      case 401: return 'Your token was refused: sign in again. (' + msg + ')';
      case 404: return 'This call is over, or that party has left. (' + msg + ')';
      case 409: return (CONFLICT_WORDS[err.reason] || 'Not possible now.') + ' (' + msg + ')';
      case 504: return 'transferd did not confirm in time; the action may still happen. (' + msg + ')';
      default: return msg.charAt(0).toUpperCase() + msg.slice(1);
    }
  }

  // ---- Server-Sent Events over fetch --------------------------------------

  // sseParser implements the event-stream format of the HTML standard
  // (section 9.2.6): lines end with CRLF, LF or CR; "field: value"; a blank
  // line dispatches; ":" starts a comment. push() takes text in chunks of any
  // size; onEvent gets {event, data, id} for each complete event, and
  // onRetry the server's reconnection time.
  function sseParser(onEvent, onRetry) {
    let buf = '';
    let data = [];
    let event = '';
    let lastId = '';
    function line(l) {
      if (l === '') {
        if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n'), id: lastId });
        data = [];
        event = '';
        return;
      }
      if (l.charAt(0) === ':') return;
      const i = l.indexOf(':');
      const field = i < 0 ? l : l.slice(0, i);
      let value = i < 0 ? '' : l.slice(i + 1);
      if (value.charAt(0) === ' ') value = value.slice(1);
      switch (field) {
        case 'event': event = value; break;
        case 'data': data.push(value); break;
        case 'id': if (value.indexOf('\0') < 0) lastId = value; break;
        case 'retry': if (/^\d+$/.test(value) && onRetry) onRetry(Number(value)); break;
        default: break;
      }
    }
    return {
      push(text) {
        let all = buf + text;
        // A CR at the very end may be the first half of a CRLF: keep it.
        let cut = all.length;
        if (all.charAt(cut - 1) === '\r') cut--;
        const lines = all.slice(0, cut).split(/\r\n|\r|\n/);
        buf = lines.pop() + all.slice(cut);
        lines.forEach(line);
      },
    };
  }

  function sleep(ms, gen) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        if (wake === done) wake = null;
        resolve(gen === generation);
      }
      wake = done;
    });
  }

  async function followEvents(gen) {
    let attempt = 0;
    let retryMs = 1000;
    while (gen === generation) {
      const ctrl = new AbortController();
      streamAbort = ctrl;
      let stall = null;
      const kick = () => {
        clearTimeout(stall);
        stall = setTimeout(() => ctrl.abort(), STALL_MS);
      };
      setConn(attempt === 0 ? 'connecting' : 'reconnecting', attempt === 0 ? 'Connecting…' : 'Reconnecting…');
      let why = 'the stream ended';
      try {
        kick();
        const res = await fetch(apiURL('/events'), {
          headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store',
          credentials: 'omit', referrerPolicy: 'no-referrer', signal: ctrl.signal,
        });
        if (res.status === 401) {
          signOut('Your token is no longer accepted: sign in again.');
          return;
        }
        if (!res.ok || !res.body) {
          let msg = 'HTTP ' + res.status;
          try {
            msg = (await res.json()).message || msg;
          } catch (e) { /* not the API's envelope */ }
          throw new Error(msg);
        }
        const parser = sseParser((ev) => {
          if (gen !== generation) return;
          if (ev.event === 'snapshot') {
            attempt = 0;
            setConn('live', 'Live');
          }
          onStreamEvent(ev);
        }, (ms) => { retryMs = Math.max(500, Math.min(ms, BACKOFF_MAX_MS)); });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done || gen !== generation) break;
          kick();
          parser.push(value);
        }
      } catch (e) {
        why = e.name === 'AbortError' ? 'no news from transferd' : e.message;
      } finally {
        clearTimeout(stall);
      }
      if (gen !== generation) return;
      attempt++;
      // Exponential backoff from the server's retry time, with jitter so a
      // restarted transferd is not hit by every page at the same instant.
      const delay = Math.round(Math.min(BACKOFF_MAX_MS, retryMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4));
      setConn('reconnecting', 'Reconnecting in ' + Math.ceil(delay / 1000) + ' s (' + why + ')');
      if (attempt === 1) announce('Connection to transferd lost; reconnecting.');
      if (!(await sleep(delay, gen))) return;
    }
  }

  function onStreamEvent(ev) {
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    switch (ev.event) {
      case 'snapshot':
        replaceCalls(data.calls || []);
        break;
      case 'dropped':
        // Events were lost for this page: read the calls afresh.
        refresh();
        break;
      default:
        if (data && data.call_id && data.account_id === session.account) upsert(data, true);
    }
  }

  async function refresh() {
    const gen = generation;
    try {
      const list = await api('GET', '/channels');
      if (gen === generation) replaceCalls(list);
    } catch (e) {
      if (e.status === 401) signOut(explain(e));
    }
  }

  // ---- calls ---------------------------------------------------------------

  function replaceCalls(list) {
    const seen = new Set();
    for (const c of list) {
      if (c.account_id !== session.account) continue;
      seen.add(c.call_id);
      upsert(c, false);
    }
    // A call missing from a fresh list ended while this page was not
    // listening.
    for (const id of [...calls.keys()]) {
      if (!seen.has(id)) ended(id);
    }
    updateEmpty();
  }

  function upsert(c, speak) {
    const prev = calls.get(c.call_id);
    if (prev && prev.state === 'ended') return;
    calls.set(c.call_id, c);
    let card = cards.get(c.call_id);
    if (!card) {
      card = makeCard(c.call_id);
      cards.set(c.call_id, card);
      $('calls').appendChild(card.li);
    }
    render(card, c);
    if (c.state === 'ended') ended(c.call_id);
    else if (speak) announceChange(prev, c);
    updateEmpty();
  }

  // ended shows a call as over for a few seconds, then removes it.
  function ended(id) {
    const c = calls.get(id);
    const card = cards.get(id);
    if (!c || !card || card.endTimer) return;
    c.state = 'ended';
    render(card, c);
    announce('Call ' + title(c) + ' ended.');
    card.endTimer = setTimeout(() => {
      if (cards.get(id) === card) {
        card.li.remove();
        cards.delete(id);
        calls.delete(id);
        updateEmpty();
      }
    }, ENDED_KEEP_MS);
  }

  function updateEmpty() {
    $('no-calls').hidden = cards.size > 0;
  }

  function live(c) {
    return (c.parties || []).filter((p) => p.state !== 'gone');
  }

  function party(c, channel) {
    return (c.parties || []).find((p) => p.channel_id === channel);
  }

  function label(p) {
    if (!p) return 'someone';
    const num = p.number || '';
    if (p.name && p.name !== num) return num ? p.name + ' (' + num + ')' : p.name;
    return num || p.channel_id;
  }

  function title(c) {
    const ps = live(c);
    return (ps.length ? ps : c.parties || []).map(label).join(' ⇄ ') || c.call_id;
  }

  // A target that still rings while the transferor is back with the
  // transferee (Hesitant) joins the hold bridge when it answers; the
  // server calls it ringing (a party has one state), the page shows both.
  // Every other party on hold is one whose state is "held".
  function ringsIntoHold(t, c) {
    if (!t || t.state !== 'Hesitant') return '';
    const target = live(c).filter((p) => p.role === 'target').pop();
    return target ? target.channel_id : '';
  }

  function transferWords(t, c) {
    const a = label(party(c, t.transferor));
    const b = label(party(c, t.transferee));
    const n = t.target;
    switch (t.state) {
      case 'Checking': return 'Checking whether ' + n + ' is available…';
      case 'CallingTarget': return 'Ringing ' + n + ' · ' + b + ' on hold';
      case 'Hesitant': return 'Back with ' + b + ' · ' + n + ' still ringing';
      case 'Consulting': return 'Consulting ' + n + ' · ' + b + ' on hold';
      case 'DoubleChecking': return 'Back with ' + b + ' · ' + n + ' on hold';
      case 'Blond': return 'Partial transfer: ' + n + ' ringing for ' + b;
      case 'Recalling': return n + ' did not answer: calling ' + a + ' back';
      case 'WaitToRetransfer': case 'WaitToRecall': return b + ' on hold before the next try';
      case 'Retransfer': return 'Ringing ' + n + ' again for ' + b;
      case 'Fallback': return 'Calling the fallback number for ' + b;
      default: return 'Transfer to ' + n + ': ' + t.state;
    }
  }

  function outcomeWords(t) {
    const n = t.target;
    const o = t.outcome || t.state;
    const failed = {
      'failed:busy': n + ' is busy', 'failed:no-answer': n + ' did not answer',
      'failed:congestion': n + ' could not be reached', 'failed:unavailable': n + ' is unavailable',
      'failed:refused': n + ' refused the call', 'failed:transferee-left': 'the party on hold hung up',
    };
    switch (o) {
      case 'completed': return 'Transferred to ' + n + '.';
      case 'partial-completed': return 'Transferred to ' + n + ' (partial: answered after you left).';
      case 'cancelled': return 'Transfer to ' + n + ' cancelled.';
      case 'three-way': return 'Three-way call with ' + n + '.';
      case 'recalled': return n + ' did not answer; the transferor was called back.';
      case 'fell-back': return n + ' did not answer; sent to the fallback number.';
      case 'abandoned': return 'Nobody answered; the party on hold was hung up.';
      default:
        if (failed[o]) return 'Transfer failed: ' + failed[o] + '.';
        return 'Transfer to ' + n + ' ended: ' + o + '.';
    }
  }

  function announceChange(prev, c) {
    if (!prev) {
      announce('New call: ' + title(c) + '.');
      return;
    }
    const t = c.transfer;
    const pt = prev.transfer;
    if (t && (!pt || pt.state !== t.state || pt.transfer_id !== t.transfer_id)) {
      announce(transferWords(t, c) + '.');
    } else if (!t && c.last_transfer && (!prev.last_transfer || prev.last_transfer.transfer_id !== c.last_transfer.transfer_id ||
      prev.last_transfer.outcome !== c.last_transfer.outcome)) {
      announce(outcomeWords(c.last_transfer));
    } else if (prev.state !== c.state && c.state === 'talking') {
      announce('Call ' + title(c) + ' connected.');
    }
  }

  function announce(text) {
    // Re-setting the same text would not be read again: clear first.
    const el = $('announce');
    el.textContent = '';
    setTimeout(() => { el.textContent = text; }, 50);
  }

  function duration(c) {
    const start = Date.parse(c.started_at || '');
    if (Number.isNaN(start)) return '';
    let s = Math.max(0, Math.floor((Date.now() + skewMs - start) / 1000));
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    const two = (x) => String(x).padStart(2, '0');
    return h > 0 ? h + ':' + two(m) + ':' + two(s) : m + ':' + two(s);
  }

  // ---- cards ---------------------------------------------------------------

  function makeCard(id) {
    const li = $('call-template').content.firstElementChild.cloneNode(true);
    const q = (sel) => li.querySelector(sel);
    const n = ++cardSeq;
    const card = {
      id, li,
      title: q('.call-title'), state: q('.call-state'), duration: q('.duration'),
      parties: q('.parties'), status: q('.transfer-status'), last: q('.last-transfer'),
      error: q('.action-error'), panel: q('.transfer-panel'), number: q('.number'),
      choices: q('.choices'), recent: q('.recent'), recentList: q('.recent-list'),
      open: q('[data-action="open-transfer"]'), busy: false, transferee: '', endTimer: 0,
    };
    li.dataset.callId = id;
    const titleId = 'call-title-' + n;
    card.title.id = titleId;
    li.querySelector('article').setAttribute('aria-labelledby', titleId);
    card.number.id = 'number-' + n;
    q('.number-label').htmlFor = card.number.id;
    card.panel.id = 'transfer-panel-' + n;
    card.open.setAttribute('aria-controls', card.panel.id);

    const pad = q('.pad');
    for (const [key, name] of [['1'], ['2'], ['3'], ['4'], ['5'], ['6'], ['7'], ['8'], ['9'], ['*', 'star'], ['0'], ['#', 'hash']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = key;
      b.dataset.key = key;
      if (name) b.setAttribute('aria-label', name);
      b.addEventListener('click', () => {
        if (card.number.value.length < 64) card.number.value += key;
        showError(card, '');
      });
      pad.appendChild(b);
    }
    q('.backspace').addEventListener('click', () => {
      card.number.value = card.number.value.slice(0, -1);
      showError(card, '');
    });
    card.number.addEventListener('input', () => showError(card, ''));

    card.open.addEventListener('click', () => setPanel(card, card.panel.hidden));
    q('[data-action="close-transfer"]').addEventListener('click', () => setPanel(card, false));
    card.panel.addEventListener('submit', (e) => {
      e.preventDefault();
      transfer(card, 'transfer');
    });
    card.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') setPanel(card, false);
    });
    q('[data-action="blind_transfer"]').addEventListener('click', () => transfer(card, 'blind_transfer'));
    for (const action of ['complete', 'swap', 'threeway', 'cancel']) {
      q('[data-action="' + action + '"]').addEventListener('click', () => {
        const c = calls.get(id);
        if (c && c.transfer) act(card, action, c.transfer.transferor, {});
      });
    }
    return card;
  }

  function setPanel(card, open) {
    card.panel.hidden = !open;
    card.open.setAttribute('aria-expanded', String(open));
    if (open) {
      const c = calls.get(card.id);
      if (c) render(card, c);
      renderRecent(card);
      card.number.focus();
    } else if (card.panel.contains(document.activeElement) || document.activeElement === document.body) {
      (card.open.hidden ? card.title : card.open).focus();
    }
  }

  function render(card, c) {
    const t = c.transfer || null;
    const over = c.state === 'ended';
    card.li.dataset.state = c.state;
    card.li.dataset.transferState = t ? t.state : '';
    card.li.dataset.outcome = c.last_transfer ? c.last_transfer.outcome || '' : '';
    card.title.textContent = title(c);
    card.state.textContent = over ? 'Ended' : c.state === 'dialing' ? 'Ringing' : c.state === 'talking' ? 'Connected' : c.state;
    card.duration.textContent = duration(c);

    const intoHold = ringsIntoHold(t, c);
    card.parties.replaceChildren(...live(c).map((p) => {
      const li = document.createElement('li');
      li.className = 'party';
      li.dataset.channel = p.channel_id;
      const role = document.createElement('span');
      role.className = 'role';
      role.textContent = ROLE_WORDS[p.role] || p.role;
      const name = document.createElement('span');
      name.className = 'label';
      name.textContent = label(p);
      li.append(role, name);
      const badge = (text, cls) => {
        const b = document.createElement('span');
        b.className = 'badge ' + cls;
        b.textContent = text;
        li.append(b);
      };
      if (p.state === 'ringing') badge('ringing', 'ringing');
      if (p.state === 'held' || p.channel_id === intoHold) badge('on hold', 'hold');
      if (t && p.channel_id === t.transferor) badge('transferring', 'xfer');
      return li;
    }));

    card.status.hidden = !t || over;
    card.status.textContent = t ? transferWords(t, c) : '';
    const lt = c.last_transfer;
    card.last.hidden = !lt || !!t;
    card.last.textContent = lt ? outcomeWords(lt) : '';

    // Buttons: only what the state allows.
    const up = live(c);
    const canTransfer = !over && !t && c.state === 'talking' && up.length === 2 && up.every((p) => p.state === 'up');
    const allowed = (t && !over && ALLOWED[t.state]) || [];
    card.open.hidden = !canTransfer;
    for (const action of ['complete', 'swap', 'threeway', 'cancel']) {
      card.li.querySelector('[data-action="' + action + '"]').hidden = !allowed.includes(action);
    }
    if (t) {
      const ringing = t.state === 'CallingTarget' || t.state === 'Hesitant';
      const withTarget = t.state === 'CallingTarget' || t.state === 'Consulting';
      card.li.querySelector('[data-action="complete"]').textContent = ringing ? 'Complete while ringing' : 'Complete';
      card.li.querySelector('[data-action="swap"]').textContent =
        withTarget ? 'Swap to ' + label(party(c, t.transferee)) : 'Swap to ' + t.target;
    }
    if (!canTransfer && !card.panel.hidden) setPanel(card, false);
    if (canTransfer && !card.panel.hidden) renderChoices(card, up);
    // Focus must not vanish with a hidden button.
    const f = document.activeElement;
    if (f && card.li.contains(f) && f.closest('[hidden]')) card.title.focus();
  }

  // renderChoices lists the two parties; the one chosen is put on hold and
  // transferred, the other one (the transferor) acts. By default the party
  // the caller called is transferred, as with the caller's *2 code.
  function renderChoices(card, up) {
    if (!up.some((p) => p.channel_id === card.transferee)) {
      const callee = up.find((p) => p.role !== 'caller') || up[up.length - 1];
      card.transferee = callee.channel_id;
    }
    const name = 'who-' + card.number.id;
    card.choices.replaceChildren(...up.map((p) => {
      const l = document.createElement('label');
      l.className = 'choice';
      const r = document.createElement('input');
      r.type = 'radio';
      r.name = name;
      r.value = p.channel_id;
      r.checked = p.channel_id === card.transferee;
      r.addEventListener('change', () => { card.transferee = p.channel_id; });
      l.append(r, document.createTextNode(label(p)));
      return l;
    }));
  }

  function recentNumbers() {
    try {
      const v = JSON.parse(localStorage.getItem(RECENT_KEY) || '[]');
      return Array.isArray(v) ? v.filter((n) => typeof n === 'string' && NUMBER_RE.test(n)).slice(0, RECENT_MAX) : [];
    } catch (e) {
      return [];
    }
  }

  function remember(number) {
    const list = [number, ...recentNumbers().filter((n) => n !== number)].slice(0, RECENT_MAX);
    try {
      localStorage.setItem(RECENT_KEY, JSON.stringify(list));
    } catch (e) { /* storage full or disabled: recent numbers are a convenience */ }
  }

  function renderRecent(card) {
    const list = recentNumbers();
    card.recent.hidden = list.length === 0;
    card.recentList.replaceChildren(...list.map((n) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = n;
      b.setAttribute('aria-label', 'Use ' + n);
      b.addEventListener('click', () => {
        card.number.value = n;
        card.number.focus();
      });
      return b;
    }));
  }

  async function transfer(card, action) {
    const c = calls.get(card.id);
    if (!c) return;
    const number = card.number.value.trim();
    if (!NUMBER_RE.test(number)) {
      showError(card, number === ''
        ? 'Enter the number to transfer to.'
        : 'That number cannot be dialled: use digits, letters and + * # - _ . only, at most 64.');
      card.number.focus();
      return;
    }
    const actor = live(c).find((p) => p.channel_id !== card.transferee);
    if (!actor) return;
    if (await act(card, action, actor.channel_id, { target: number })) {
      remember(number);
      card.number.value = '';
      setPanel(card, false);
    }
  }

  // act posts an action for the party channel. The answer is not drawn:
  // the event stream brings every change, in order.
  async function act(card, action, channel, extra) {
    if (card.busy) return false;
    setBusy(card, true);
    showError(card, '');
    try {
      await api('POST', '/channels/' + encodeURIComponent(channel), { data: Object.assign({ action }, extra) });
      return true;
    } catch (e) {
      const what = action.endsWith('transfer') && extra.target ? ACTION_WORDS[action] + ' to ' + extra.target : ACTION_WORDS[action];
      showError(card, what + ' refused. ' + explain(e));
      if (e.status === 401) signOut(explain(e));
      return false;
    } finally {
      setBusy(card, false);
    }
  }

  function setBusy(card, busy) {
    card.busy = busy;
    card.li.setAttribute('aria-busy', String(busy));
    card.li.querySelectorAll('.actions button, .panel-actions button').forEach((b) => { b.disabled = busy; });
  }

  function showError(card, text) {
    card.error.hidden = !text;
    card.error.textContent = text;
  }

  function setConn(state, text) {
    const el = $('conn');
    el.dataset.state = state;
    $('conn-text').textContent = text;
  }

  // ---- sign-in -------------------------------------------------------------

  async function signIn(account, token, fromStorage) {
    const gen = ++generation;
    session = { account, token };
    const err = $('signin-error');
    err.hidden = true;
    $('signin-button').disabled = true;
    let list;
    try {
      list = await api('GET', '/channels');
    } catch (e) {
      if (gen !== generation) return;
      session = null;
      sessionStorage.removeItem(SESSION_KEY);
      $('signin-button').disabled = false;
      if (e.status === 401) err.textContent = 'Sign-in refused: transferd does not know this token (' + e.message + ').';
      else if (e.status === 404) err.textContent = 'Sign-in refused: this token does not open account "' + account + '" (' + e.message + ').';
      else err.textContent = 'Sign-in failed. ' + explain(e);
      err.hidden = false;
      if (!fromStorage) $('token').focus();
      return;
    }
    if (gen !== generation) return;
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    $('token').value = '';
    $('signin-button').disabled = false;
    $('signin').hidden = true;
    $('calls-section').hidden = false;
    $('who').textContent = 'Account ' + account;
    $('who').hidden = false;
    $('conn').hidden = false;
    $('signout').hidden = false;
    $('calls-title').focus();
    replaceCalls(list);
    followEvents(gen);
  }

  function signOut(message) {
    generation++;
    session = null;
    sessionStorage.removeItem(SESSION_KEY);
    if (streamAbort) streamAbort.abort();
    if (wake) wake();
    calls.clear();
    cards.clear();
    $('calls').replaceChildren();
    $('calls-section').hidden = true;
    $('who').hidden = true;
    $('conn').hidden = true;
    $('signout').hidden = true;
    $('signin').hidden = false;
    const err = $('signin-error');
    err.textContent = message || '';
    err.hidden = !message;
    $('account').focus();
  }

  function start() {
    $('calls-title').tabIndex = -1;
    $('signin-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const account = $('account').value.trim();
      const token = $('token').value;
      const err = $('signin-error');
      if (!account || !token) {
        err.textContent = !account ? 'Enter the account name.' : 'Enter the API token.';
        err.hidden = false;
        (!account ? $('account') : $('token')).focus();
        return;
      }
      signIn(account, token, false);
    });
    $('signout').addEventListener('click', () => signOut(''));
    // Back online: reconnect now rather than at the end of the backoff.
    window.addEventListener('online', () => { if (wake) wake(); });
    setInterval(() => {
      for (const [id, card] of cards) {
        const c = calls.get(id);
        if (c && c.state !== 'ended') card.duration.textContent = duration(c);
      }
    }, 1000);
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    } catch (e) {
      saved = null;
    }
    if (saved && typeof saved.account === 'string' && typeof saved.token === 'string') {
      $('account').value = saved.account;
      signIn(saved.account, saved.token, true);
    } else {
      $('account').focus();
    }
  }

  // The parser is exposed for the browser test (it feeds it text in chunks
  // cut at every position); nothing else is.
  window.transferdUI = Object.freeze({ sseParser });
  start();
})();
