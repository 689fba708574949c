// Copyright (c) 2026 The chat authors.
//
// chat's browser client: the protocol of chat-client (man
// chat-protocol(7)) over a WebSocket to the page's own origin.  It keeps,
// per user id, the last seq and epoch it processed and the recent
// conversations in localStorage, and always connects with
// ?since=SEQ&epoch=EPOCH, so a reload or a reconnect shows every message
// exactly once.  A room is a conversation too, keyed "#" and its name
// (user ids hold no '#'): joined from the box that opens a chat, listed
// with the others, its members' comings and goings shown in it.  Text
// from the network only ever reaches the page through textContent: it
// is never parsed as HTML.
'use strict';

(function () {
  const ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
  // A room name: 1-64 bytes of UTF-8, no control, format or space
  // character (the server checks the same with Unicode's categories).
  const ROOM_BAD = /[\p{Cc}\p{Cf}\p{Z}]/u;
  const utf8 = new TextEncoder();
  const KEEP = 200;             // messages kept per conversation
  const MAX_CONVS = 100;        // conversations kept
  const MAX_WATCH = 256;        // the server's watch limit
  const BACKOFF_MIN = 500;      // ms before the first reconnect
  const BACKOFF_MAX = 30000;

  let me = null;                // our user id, null when signed out
  let token = '';
  let ws = null;
  let wanted = false;           // reconnect when the socket closes
  let attempts = 0;             // failed connects since the last success
  let retryTimer = null;
  let cur = null;               // the open conversation's peer
  let convs = new Map();        // peer -> { msgs: [...], unread: n }
  const online = new Map();     // peer -> bool, from presence events
  let cursor = { seq: 0, epoch: '' };
  const outbox = [];            // messages waiting for a connection
  const inflight = new Map();   // id -> message sent, not yet answered
  const idBase = 'w' + Math.random().toString(36).slice(2, 8) + '-';
  let nextId = 1;

  const $ = (id) => document.getElementById(id);

  function validRoom(r) {
    const n = utf8.encode(r).length;
    return n >= 1 && n <= 64 && !ROOM_BAD.test(r);
  }
  // A conversation's key: a user id, or '#' and a room's name.
  function roomOf(peer) { return peer.startsWith('#') ? peer.slice(1) : null; }
  function validPeer(peer) {
    const r = roomOf(peer);
    return r !== null ? validRoom(r) : ID_RE.test(peer);
  }

  // ---- storage: per user id, failures ignored (private windows) ----

  function key(what) { return 'chat:' + me + ':' + what; }

  function load() {
    cursor = { seq: 0, epoch: '' };
    convs = new Map();
    try {
      const c = JSON.parse(localStorage.getItem(key('cursor')) || 'null');
      if (c && Number.isSafeInteger(c.seq) && c.seq >= 0) {
        cursor.seq = c.seq;
        cursor.epoch = typeof c.epoch === 'string' ? c.epoch : '';
      }
      const v = JSON.parse(localStorage.getItem(key('convs')) || '[]');
      for (const [peer, c2] of Array.isArray(v) ? v : []) {
        if (!validPeer(peer) || !c2 || !Array.isArray(c2.msgs)) continue;
        // Sent before the page went away and never answered: unknown.
        for (const m of c2.msgs) {
          if (m.dir === 'out' && m.status === 'pending') {
            m.status = 'failed';
            m.detail = 'the page was closed before the server answered';
          }
        }
        convs.set(peer, { msgs: c2.msgs, unread: c2.unread | 0 });
      }
    } catch (e) { /* start afresh */ }
  }

  function save() {
    try {
      localStorage.setItem(key('cursor'), JSON.stringify(cursor));
      localStorage.setItem(key('convs'), JSON.stringify([...convs]));
    } catch (e) { /* full or forbidden: keep going in memory */ }
  }

  function conv(peer) {
    let c = convs.get(peer);
    if (!c) {
      c = { msgs: [], unread: 0 };
      convs.set(peer, c);
      if (convs.size > MAX_CONVS) {
        const oldest = sorted().pop();
        if (oldest !== peer && oldest !== cur) convs.delete(oldest);
      }
      sendWatch();
    }
    return c;
  }

  function push(peer, m) {
    const c = conv(peer);
    c.msgs.push(m);
    if (c.msgs.length > KEEP) c.msgs.splice(0, c.msgs.length - KEEP);
    return c;
  }

  // Conversations, the most recent first.
  function sorted() {
    const last = (p) => {
      const ms = convs.get(p).msgs;
      return ms.length ? ms[ms.length - 1].ts : 0;
    };
    return [...convs.keys()].sort((a, b) => last(b) - last(a));
  }

  // ---- drawing: createElement and textContent only ----

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setStatus(state, text) {
    const s = $('status');
    s.dataset.state = state;
    s.textContent = text;
  }

  function renderConvs() {
    const ul = $('convs');
    ul.replaceChildren();
    for (const peer of sorted()) {
      const c = convs.get(peer);
      const li = el('li', peer === cur ? 'current' : '');
      li.dataset.peer = peer;
      li.append(el('span', 'presence' + (roomOf(peer) !== null ? ' room' :
        online.get(peer) ? ' online' : '')),
        el('span', 'name', peer), el('span', 'unread', c.unread ? String(c.unread) : ''));
      li.addEventListener('click', () => openConv(peer));
      ul.append(li);
    }
  }

  function renderLog() {
    const log = $('log');
    log.replaceChildren();
    $('peer').textContent = cur || 'no conversation open';
    const pr = $('peer-presence');
    pr.className = 'presence' + (cur && online.get(cur) ? ' online' : '');
    pr.title = cur ? (online.get(cur) ? 'online' : 'offline') : '';
    pr.hidden = !cur || roomOf(cur) !== null;
    if (!cur) return;
    for (const m of conv(cur).msgs) {
      const li = el('li', 'msg ' + m.dir);
      if (m.seq !== undefined) li.dataset.seq = m.seq;
      if (m.id !== undefined) li.dataset.id = m.id;
      const meta = el('span', 'meta',
        new Date(m.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
      if (m.dir === 'out') {
        const st = el('span', 'status ' + m.status, ' ' + m.status);
        if (m.detail) st.title = m.detail;
        meta.append(st);
      }
      // In a room, who said it.
      if (m.from && m.dir === 'in') li.append(el('span', 'from', m.from));
      li.append(el('span', 'text', m.text), meta);
      log.append(li);
    }
    log.scrollTop = log.scrollHeight;
  }

  function render() {
    renderConvs();
    renderLog();
  }

  // ---- the connection ----

  function url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let u = proto + '//' + location.host + '/demo/ws/' +
      encodeURIComponent(me) + '?since=' + cursor.seq;
    if (cursor.epoch) u += '&epoch=' + encodeURIComponent(cursor.epoch);
    if (token) u += '&token=' + encodeURIComponent(token);
    return u;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (!wanted || ws) return;
    setStatus('connecting', 'connecting…');
    const s = new WebSocket(url());
    ws = s;
    s.onopen = () => {
      if (ws !== s) return;
      setStatus('open', 'connected');
      sendWatch();
      // The rooms we are in, joined here or elsewhere, in the list.
      sendJSON({ type: 'rooms' });
      flush();
      $('text').focus();
    };
    s.onmessage = (ev) => { if (ws === s) received(ev.data); };
    s.onclose = (ev) => { if (ws === s) lost(ev); };
  }

  function lost(ev, retry = true) {
    ws = null;
    for (const m of inflight.values()) {
      m.status = 'failed';
      m.detail = 'the connection was lost before the server answered';
    }
    inflight.clear();
    save();
    renderLog();
    if (!wanted || !retry) {
      setStatus('closed', wanted ? 'page closed' : 'signed out');
      return;
    }
    // Exponential backoff with jitter, so that a restarted server is
    // not met by every browser at the same moment.
    const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** Math.min(attempts, 10)) *
      (0.75 + Math.random() / 2);
    attempts++;
    const why = ev.code === 1006 ? 'connection lost' :
      (ev.reason || 'closed with ' + ev.code);
    setStatus('waiting', why + '; reconnecting in ' +
      Math.max(1, Math.round(delay / 1000)) + ' s');
    retryTimer = setTimeout(connect, delay);
  }

  function sendJSON(obj) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(obj));
    return true;
  }

  function sendWatch() {
    if (me) {
      sendJSON({
        type: 'watch',
        users: sorted().filter((p) => roomOf(p) === null).slice(0, MAX_WATCH)
      });
    }
  }

  function flush() {
    while (outbox.length && ws && ws.readyState === WebSocket.OPEN) {
      const m = outbox.shift();
      const room = roomOf(m.to);
      if (room !== null) {
        sendJSON({ type: 'chat', message: m.text, target_room: room, id: m.id });
      } else {
        sendJSON({ type: 'chat', message: m.text, target_user: m.to, id: m.id });
      }
      inflight.set(m.id, m);
    }
  }

  function received(data) {
    let m;
    try { m = JSON.parse(data); } catch (e) { return; }
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case undefined:
      case 'chat':
        if (typeof m.message === 'string' && typeof m.from_user === 'string') {
          incoming(m);
        }
        break;
      case 'ack': {
        const out = inflight.get(String(m.id));
        if (out) {
          inflight.delete(String(m.id));
          out.status = m.status === 'queued' ? 'queued' : 'delivered';
          if (Number.isSafeInteger(m.missed) && m.missed > 0) {
            out.detail = m.missed + ' member(s) did not get it';
          }
          // Our room message, not sent back to us: seen.
          if (Number.isSafeInteger(m.seq) && m.seq > cursor.seq) cursor.seq = m.seq;
          save();
          renderLog();
        }
        break;
      }
      case 'joined':
      case 'members':
        if (typeof m.room === 'string' && validRoom(m.room) &&
            Array.isArray(m.members)) {
          note('#' + m.room, (m.type === 'joined' ? 'joined; ' : '') +
            'members: ' + m.members.join(', '));
          if (m.type === 'joined') openConv('#' + m.room);
        }
        break;
      case 'left':
        if (typeof m.room === 'string' && convs.has('#' + m.room)) {
          note('#' + m.room, 'you left');
        }
        break;
      case 'member':
        if (typeof m.room === 'string' && typeof m.user === 'string' &&
            (convs.has('#' + m.room) || (m.user === me && m.event === 'join'))) {
          note('#' + m.room, (m.user === me ? 'you' : m.user) + ' ' +
            (m.event === 'join' ? 'joined' : 'left'));
        }
        break;
      case 'rooms':
        if (Array.isArray(m.rooms)) {
          for (const r of m.rooms) {
            if (r && typeof r.room === 'string' && validRoom(r.room)) conv('#' + r.room);
          }
          save();
          render();
        }
        break;
      case 'error': {
        const out = m.id !== undefined ? inflight.get(String(m.id)) : null;
        if (out) {
          inflight.delete(String(m.id));
          out.status = 'failed';
          out.detail = m.error + ': ' + (m.detail || '');
          save();
          renderLog();
        } else {
          setStatus('open', 'server: ' + m.error + ': ' + (m.detail || ''));
        }
        break;
      }
      case 'presence':
        if (typeof m.user === 'string') {
          online.set(m.user, m.online === true);
          render();
        }
        break;
      case 'resumed':
        attempts = 0;
        if (m.reset) cursor.seq = 0;
        if (typeof m.epoch === 'string') cursor.epoch = m.epoch;
        save();
        break;
      default:
        break;
    }
  }

  function incoming(m) {
    // A seq at or below the last one processed was shown already.
    if (Number.isSafeInteger(m.seq)) {
      if (m.seq <= cursor.seq) return;
      cursor.seq = m.seq;
    }
    const room = typeof m.room === 'string' && validRoom(m.room) ? m.room : null;
    const peer = room !== null ? '#' + room : m.from_user;
    const ts = Number.isFinite(m.ts) ? m.ts : Date.now();
    // Ours, to a room, from another device.
    const own = room !== null && m.from_user === me;
    const c = push(peer, own
      ? { dir: 'out', text: m.message, ts: ts, seq: m.seq, status: 'other device' }
      : { dir: 'in', text: m.message, ts: ts, seq: m.seq,
          from: room !== null ? m.from_user : undefined });
    if (!own && (peer !== cur || document.hidden)) c.unread++;
    save();
    render();
  }

  // A line of the page's own in a conversation (a room's news).
  function note(peer, text) {
    push(peer, { dir: 'sys', text: text, ts: Date.now() });
    save();
    render();
  }

  // ---- what the person does ----

  function openConv(peer) {
    if (!validPeer(peer)) return;
    cur = peer;
    conv(peer).unread = 0;
    save();
    history.replaceState(null, '', '/?user=' + encodeURIComponent(me) +
      '&to=' + encodeURIComponent(peer));
    $('text').disabled = false;
    $('send-button').disabled = false;
    render();
    $('text').focus();
  }

  function send(text) {
    if (!cur || text === '') return;
    const m = {
      dir: 'out', text: text, ts: Date.now(), to: cur,
      id: idBase + nextId++, status: 'pending'
    };
    push(cur, m);
    outbox.push(m);
    flush();
    save();
    render();
  }

  function signIn(user, tok, to) {
    me = user;
    token = tok || '';
    try { sessionStorage.setItem('chat:token:' + me, token); } catch (e) { }
    load();
    $('login').hidden = true;
    $('app').hidden = false;
    $('me').textContent = me;
    cur = null;
    if (to && validPeer(to)) openConv(to);
    else if (convs.size) openConv(sorted()[0]);
    else {
      history.replaceState(null, '', '/?user=' + encodeURIComponent(me));
      render();
    }
    wanted = true;
    attempts = 0;
    connect();
  }

  function signOut() {
    wanted = false;
    clearTimeout(retryTimer);
    if (ws) ws.close(1000, 'signed out');
    ws = null;
    outbox.length = 0;
    inflight.clear();
    me = null;
    cur = null;
    online.clear();
    $('app').hidden = true;
    $('login').hidden = false;
    history.replaceState(null, '', '/');
    $('login-user').focus();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const user = $('login-user').value.trim();
      if (!ID_RE.test(user)) {
        $('login-error').textContent = 'A user id is 1-64 characters from A-Z a-z 0-9 . _ -';
        return;
      }
      $('login-error').textContent = '';
      signIn(user, $('login-token').value.trim(), null);
    });
    $('open').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const peer = $('open-peer').value.trim();
      const room = roomOf(peer);
      if (room !== null && validRoom(room)) {
        // Shown once the server says we are in.
        if (sendJSON({ type: 'join', room: room })) $('open-peer').value = '';
        else setStatus('waiting', 'not connected: cannot join ' + peer);
      } else if (ID_RE.test(peer)) {
        $('open-peer').value = '';
        openConv(peer);
      }
    });
    $('send').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('text');
      send(t.value);
      t.value = '';
      t.focus();
    });
    $('logout').addEventListener('click', signOut);
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && cur && convs.has(cur) && convs.get(cur).unread) {
        convs.get(cur).unread = 0;
        save();
        renderConvs();
      }
    });
    // Back online: try at once rather than at the end of the backoff.
    window.addEventListener('online', () => { if (wanted && !ws) connect(); });
    // Leaving the page closes its socket, so that the server knows at
    // once (a page kept for the back button would hold it open, and be
    // sent messages nobody sees); coming back reconnects.
    window.addEventListener('pagehide', () => {
      clearTimeout(retryTimer);
      if (!ws) return;
      const s = ws;
      s.onclose = null;
      s.close(1000, 'page closed');
      lost({ code: 1000, reason: 'page closed' }, false);
    });
    window.addEventListener('pageshow', (ev) => {
      if (ev.persisted && wanted) connect();
    });

    // /?user=ID&to=OTHER opens that chat; a token may come as ?token=,
    // which is then taken out of the address bar.
    const q = new URLSearchParams(location.search);
    const user = q.get('user');
    if (user && ID_RE.test(user)) {
      let tok = q.get('token');
      if (tok === null) {
        try { tok = sessionStorage.getItem('chat:token:' + user); } catch (e) { }
      }
      signIn(user, tok, q.get('to'));
    } else {
      $('login-user').focus();
    }
  });
})();
