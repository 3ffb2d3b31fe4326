/**
 * The live page's script, plain browser JavaScript (no framework, no build step): it renders
 * views from the JSON API and refreshes what is on screen when the lab's event stream says
 * something happened. Data goes in with textContent; only the drawings the server rendered with
 * the report's own (escaping) functions go in as HTML.
 */
export const LIVE_SCRIPT = String.raw`'use strict';
(function () {
  var PAGE = 50;
  var view = document.getElementById('view');
  var statusBar = document.getElementById('status');
  var flash = document.getElementById('flash');
  var state = { tab: 'messages', offset: 0, selected: null, node: null, tracking: { offset: 0 }, lab: null };
  var renderers = {};
  var refreshers = {};

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') el.textContent = v;
      else if (k === 'html') el.innerHTML = v;
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === undefined || c === null || c === false) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) { el.append(x instanceof Node ? x : String(x)); });
    }
    return el;
  }
  function api(path, body) {
    var init = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    return fetch(path, init).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j && j.error ? j.error : r.status + ' ' + r.statusText);
        return j;
      });
    });
  }
  function say(text, isError) {
    flash.textContent = text;
    flash.className = isError ? 'error' : 'ok';
  }
  function fail(e) { say(e.message || String(e), true); }
  function msgPath(id) { return '/api/messages/' + encodeURIComponent(id); }
  function time(at) { return at ? at.slice(11, 19) : ''; }
  function stateClass(s) { return 'st-' + s; }
  function table(headers, rows) {
    return h('table', { class: 'list' }, h('thead', null, h('tr', null, headers.map(function (t) { return h('th', { scope: 'col', text: t }); }))), h('tbody', null, rows));
  }
  /** Rows that open with Enter or a click, and move with the arrow keys (or j/k). */
  function rowKeys(tr, open) {
    tr.tabIndex = 0;
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); open(); }
      var next = ev.key === 'ArrowDown' || ev.key === 'j' ? tr.nextElementSibling : ev.key === 'ArrowUp' || ev.key === 'k' ? tr.previousElementSibling : null;
      if (next) { ev.preventDefault(); next.focus(); }
    });
  }
  function pager(offset, total, go) {
    var last = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
    return h('div', { class: 'pager' },
      h('button', { type: 'button', disabled: offset <= 0, onclick: function () { go(Math.max(0, offset - PAGE)); }, 'aria-label': 'newer page' }, '← newer'),
      h('button', { type: 'button', disabled: offset + PAGE >= total, onclick: function () { go(Math.min(last, offset + PAGE)); }, 'aria-label': 'older page' }, 'older →'),
      total ? (offset + 1) + '–' + Math.min(total, offset + PAGE) + ' of ' + total : 'none yet');
  }

  // ---- Messages ----
  renderers.messages = function () {
    view.replaceChildren(h('div', { class: 'split' }, h('div', { class: 'pane', id: 'list' }), h('div', { class: 'pane detail', id: 'detail', tabindex: '-1' }, h('p', { class: 'none', text: 'Choose a message (Enter, or click) to see its path, verdicts and headers. Keys: ↑/↓ or j/k move, n/p page.' }))));
    refreshers.messages();
    if (state.selected) openMessage(state.selected, false);
  };
  refreshers.messages = function (ev) {
    var list = document.getElementById('list');
    if (!list) return;
    api('/api/messages?offset=' + state.offset + '&limit=' + PAGE).then(function (page) {
      var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.id : null;
      var rows = page.messages.map(function (m) {
        var tr = h('tr', { class: 'row', 'data-id': m.messageId, 'aria-selected': String(m.messageId === state.selected) },
          h('td', { text: time(m.firstSeen) }),
          h('td', null, m.states.map(function (s) { return h('span', { class: stateClass(s.state), text: (s.state === 'unaccounted' ? 'in transit' : s.state) + ' ' }); })),
          h('td', { class: 'clip', text: m.subject || '(no subject)' }), h('td', { class: 'clip', text: m.from || '<>' }), h('td', { class: 'clip', text: m.to.join(', ') }));
        tr.title = m.now;
        rowKeys(tr, function () { openMessage(m.messageId, true); });
        return tr;
      });
      list.replaceChildren(h('h2', { text: 'Messages' }), pager(state.offset, page.total, function (o) { state.offset = o; refreshers.messages(); }), table(['time', 'state', 'subject', 'from', 'to'], rows));
      var again = focused && list.querySelector('tr[data-id="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
      if (ev && ev.messageId && ev.messageId === state.selected) openMessage(state.selected, false);
    }).catch(fail);
  };
  function openMessage(id, focus) {
    state.selected = id;
    document.querySelectorAll('#list tr.row').forEach(function (tr) { tr.setAttribute('aria-selected', String(tr.dataset.id === id)); });
    var detail = document.getElementById('detail');
    if (!detail) return;
    api(msgPath(id)).then(function (m) {
      var s = m.summary;
      // a live refresh keeps open what the reader opened
      var open = id === detail.dataset.id ? Array.prototype.map.call(detail.querySelectorAll('details[open][id]'), function (d) { return d.id; }) : [];
      var keptRaw = id === detail.dataset.id ? detail.querySelector('.raw-copy') : null;
      var raw = keptRaw || h('div', { class: 'raw-copy' });
      detail.dataset.id = id;
      detail.replaceChildren(
        h('h2', { text: s.subject || '(no subject)' }),
        h('table', { class: 'kv' }, [['Message-ID', s.messageId], ['from', s.from || '<>'], ['to', s.to.join(', ')], ['first seen', s.firstSeen + ' at ' + s.firstNode], ['Get-MessageTrace', s.states.map(function (x) { return x.recipient + ': ' + x.messageTraceStatus; }).join(', ')]].map(function (r) { return h('tr', null, h('th', { text: r[0] }), h('td', { text: r[1] })); })),
        h('p', null, 'now: ', h('span', { class: 'where', text: s.now })),
        h('p', null,
          m.raw ? h('button', { type: 'button', onclick: function () { fetch(msgPath(id) + '/raw').then(function (r) { return r.text(); }).then(function (t) { raw.replaceChildren(h('p', { class: 'muted', text: 'the copy in ' + m.raw }), h('pre', { class: 'raw', text: t })); }).catch(fail); } }, 'show raw message') : h('span', { class: 'muted', text: 'no copy held (not delivered, not queued)' }), ' ',
          m.raw ? h('a', { href: msgPath(id) + '/raw?download=1', download: '' }, 'download .eml') : null),
        raw,
        h('div', { class: 'live-message', html: m.html }),
        h('h4', { text: 'Message tracking' }),
        trackingTable(m.tracking));
      open.forEach(function (o) { var d = document.getElementById(o); if (d) d.open = true; });
      if (focus) detail.focus();
    }).catch(fail);
  }

  // ---- Topology ----
  renderers.topology = function () { view.replaceChildren(h('div', { id: 'topo' })); refreshers.topology(); };
  refreshers.topology = function () {
    var topo = document.getElementById('topo');
    if (!topo) return;
    api('/api/lab').then(function (lab) {
      var rows = lab.nodes.map(function (n) {
        return h('tr', { 'data-node': n.name },
          h('td', null, h('b', { text: n.name })), h('td', { text: n.role }), h('td', { text: n.hostname }), h('td', { text: n.address + ':' + n.port }),
          h('td', { class: 'clip', text: n.certificateNames.join(', ') || '-' }), h('td', { class: 'health-' + n.health, text: n.health }), h('td', { text: String(n.queued) }),
          h('td', null, h('button', { type: 'button', onclick: function () { nodeAction(n.name, n.health === 'down' ? 'up' : 'down'); } }, n.health === 'down' ? 'bring up' : 'take down')));
      });
      topo.replaceChildren(h('h2', { text: 'Topology' }), h('div', { class: 'diagram', html: lab.topologySvg }), table(['node', 'role', 'hostname', 'address', 'certificate names', 'health', 'queued', ''], rows));
      lab.nodes.forEach(function (n) {
        var g = topo.querySelector('svg.topology g.node[data-node="' + CSS.escape(n.name) + '"]');
        if (g) { g.classList.add('node-' + n.health); g.insertAdjacentHTML('afterbegin', '<title></title>'); g.firstChild.textContent = n.name + ': ' + n.health; }
      });
    }).catch(fail);
  };
  function nodeAction(node, action) {
    api('/api/nodes/' + encodeURIComponent(node) + '/' + action, {}).then(function () { say(node + ': ' + (action === 'down' ? 'taken down' : 'up again')); refresh(); }).catch(fail);
  }

  // ---- Mailboxes ----
  function nodePicker(onpick) {
    var nodes = state.lab ? state.lab.nodes.map(function (n) { return n.name; }) : [];
    if (!state.node || nodes.indexOf(state.node) < 0) state.node = nodes[0] || null;
    var sel = h('select', { id: 'node-pick', onchange: function () { state.node = sel.value; onpick(); } }, nodes.map(function (n) { return h('option', { value: n, selected: n === state.node, text: n }); }));
    return h('form', { class: 'inline', onsubmit: function (e) { e.preventDefault(); } }, h('label', { for: 'node-pick', text: 'node ' }), sel);
  }
  renderers.mailboxes = function () { view.replaceChildren(h('h2', { text: 'Mailboxes' }), nodePicker(refreshers.mailboxes), h('div', { id: 'boxes' })); refreshers.mailboxes(); };
  refreshers.mailboxes = function () {
    var boxes = document.getElementById('boxes');
    if (!boxes || !state.node) return;
    api('/api/nodes/' + encodeURIComponent(state.node) + '/mailboxes').then(function (list) {
      boxes.replaceChildren.apply(boxes, list.mailboxes.length ? list.mailboxes.map(function (b) {
        return h('section', { class: 'mailbox' }, h('h3', { text: b.address }), b.folders.map(function (f) {
          var rows = f.messages.map(function (m) {
            var tr = h('tr', { class: 'row' }, h('td', { text: time(m.deliveredAt) }), h('td', { class: 'clip', text: m.from || '<>' }), h('td', { class: 'clip', text: m.subject || '(no subject)' }), h('td', { text: m.size + ' B' }));
            rowKeys(tr, function () { state.selected = m.messageId; show('messages'); });
            return tr;
          });
          return h('details', { open: f.count > 0 }, h('summary', { text: f.name + ' (' + f.count + ')' }), rows.length ? table(['delivered', 'from', 'subject', 'size'], rows) : h('p', { class: 'none', text: 'empty' }));
        }));
      }) : [h('p', { class: 'none', text: 'this node holds no mailboxes' })]);
    }).catch(fail);
  };

  // ---- Queues ----
  renderers.queues = function () { view.replaceChildren(h('h2', { text: 'Queues (Get-Queue, Get-Message)' }), nodePicker(refreshers.queues), h('div', { id: 'queues' })); refreshers.queues(); };
  refreshers.queues = function () {
    var box = document.getElementById('queues');
    if (!box || !state.node) return;
    var node = state.node;
    api('/api/nodes/' + encodeURIComponent(node) + '/queues').then(function (list) {
      if (!list.queues.length) return box.replaceChildren(h('p', { class: 'none', text: node + ' has no messages queued.' }));
      box.replaceChildren.apply(box, list.queues.map(function (q) {
        var rows = q.messages.map(function (m) {
          var tr = h('tr', { class: 'row' }, h('td', { text: m.identity }), h('td', { class: 'clip', text: m.fromAddress || '<>' }), h('td', { text: m.status }), h('td', { text: String(m.size) }), h('td', { text: String(m.retryCount) }), h('td', { class: 'clip', text: m.lastError || '' }), h('td', { text: m.dateReceived }));
          rowKeys(tr, function () { state.selected = m.messageId; show('messages'); });
          return tr;
        });
        return h('section', { class: 'queue' },
          h('h3', { text: q.identity }),
          h('table', { class: 'kv' }, [['Status', q.status], ['DeliveryType', q.deliveryType], ['NextHopDomain', q.nextHopDomain], ['MessageCount', String(q.messageCount)], ['NextRetryTime', q.nextRetryTime || ''], ['LastError', q.lastError || '']].map(function (r) { return h('tr', null, h('th', { text: r[0] }), h('td', { text: r[1] })); })),
          h('button', { type: 'button', onclick: function () { api('/api/nodes/' + encodeURIComponent(node) + '/queues/retry', { nextHop: q.nextHop }).then(function (r) { say('Retry-Queue ' + q.identity + ': ' + r.retried + ' message(s) due now'); refresh(); }).catch(fail); } }, 'Retry-Queue'),
          table(['Identity', 'FromAddress', 'Status', 'Size', 'RetryCount', 'LastError', 'DateReceived'], rows));
      }));
    }).catch(fail);
  };

  // ---- Tracking ----
  function trackingTable(rows) {
    return table(['Timestamp', 'EventId', 'Source', 'Server', 'ClientIp', 'ServerHostname', 'ConnectorId', 'Sender', 'Recipients', 'RecipientStatus'], rows.map(function (r) {
      return h('tr', null, h('td', { text: r.timestamp.slice(0, 19).replace('T', ' ') }), h('td', null, h('b', { text: r.eventId })), h('td', { text: r.source }), h('td', { text: r.server }),
        h('td', { text: r.clientIp || '' }), h('td', { text: r.serverHostname || '' }), h('td', { class: 'clip', text: r.connectorId || '' }), h('td', { class: 'clip', text: r.sender || '' }),
        h('td', { class: 'clip', text: r.recipients.join(', ') }), h('td', { class: 'clip', text: r.recipientStatus || '' }));
    }));
  }
  renderers.tracking = function () {
    var fields = [['sender', 'Sender'], ['recipient', 'Recipients'], ['messageId', 'MessageId'], ['start', 'Start (ISO time)'], ['end', 'End (ISO time)']];
    var form = h('form', { class: 'inline', id: 'tracking-filter', onsubmit: function (e) { e.preventDefault(); state.tracking.offset = 0; refreshers.tracking(); } },
      fields.map(function (f) { return h('label', null, f[1] + ' ', h('input', { name: f[0], size: f[0] === 'messageId' ? 30 : 18, value: state.tracking[f[0]] || '' })); }),
      h('button', { type: 'submit' }, 'Get-MessageTrackingLog'));
    view.replaceChildren(h('h2', { text: 'Message tracking' }), form, h('div', { id: 'tracking' }));
    refreshers.tracking();
  };
  refreshers.tracking = function () {
    var form = document.getElementById('tracking-filter');
    var box = document.getElementById('tracking');
    if (!form || !box) return;
    var q = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) { if (el.name) { state.tracking[el.name] = el.value; if (el.value) q.set(el.name, el.value); } });
    q.set('offset', String(state.tracking.offset)); q.set('limit', String(PAGE));
    api('/api/tracking?' + q).then(function (page) {
      box.replaceChildren(pager(state.tracking.offset, page.total, function (o) { state.tracking.offset = o; refreshers.tracking(); }), trackingTable(page.rows));
    }).catch(fail);
  };

  // ---- Actions ----
  renderers.actions = function () {
    var nodes = state.lab ? state.lab.nodes : [];
    var opts = function () { return nodes.map(function (n) { return h('option', { value: n.name, text: n.name + ' (' + n.role + ')' }); }); };
    var send = h('form', { class: 'stack', id: 'send-form', onsubmit: function (e) {
      e.preventDefault();
      var f = e.target.elements;
      api('/api/messages', { node: f.node.value, from: f.from.value, to: f.to.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean), subject: f.subject.value, body: f.body.value })
        .then(function (r) { say('submitted ' + r.messageId + ' at ' + f.node.value); state.selected = r.messageId; state.offset = 0; }).catch(fail);
    } },
      h('label', null, 'from node ', h('select', { name: 'node' }, opts())),
      h('label', null, 'MAIL FROM ', h('input', { name: 'from', required: true, value: 'alice@contoso.example' })),
      h('label', null, 'RCPT TO (comma separated) ', h('input', { name: 'to', required: true, value: 'carol@contoso.example' })),
      h('label', null, 'Subject ', h('input', { name: 'subject', value: 'relaylab test message' })),
      h('label', null, 'Body ', h('textarea', { name: 'body', rows: 3, text: 'Sent from the relaylab web view.' })),
      h('button', { type: 'submit' }, 'Send test message'));
    var clock = h('form', { class: 'inline', onsubmit: function (e) {
      e.preventDefault();
      api('/api/clock/advance', { duration: e.target.elements.duration.value }).then(function (r) { say('lab clock now ' + r.now); refresh(); }).catch(fail);
    } }, h('label', null, 'by ', h('input', { name: 'duration', value: '1h', size: 8, 'aria-describedby': 'dur-help' })), h('span', { id: 'dur-help', class: 'muted', text: ' e.g. 90s, 15m, 1h, 2d ' }), h('button', { type: 'submit' }, 'Advance the clock'));
    var node = h('form', { class: 'inline', onsubmit: function (e) { e.preventDefault(); } },
      h('label', null, 'node ', h('select', { name: 'node', id: 'action-node' }, opts())),
      h('button', { type: 'button', onclick: function () { nodeAction(document.getElementById('action-node').value, 'down'); } }, 'Take down'),
      h('button', { type: 'button', onclick: function () { nodeAction(document.getElementById('action-node').value, 'up'); } }, 'Bring up'),
      h('button', { type: 'button', onclick: function () { var n = document.getElementById('action-node').value; api('/api/nodes/' + encodeURIComponent(n) + '/queues/retry', {}).then(function (r) { say('Retry-Queue at ' + n + ': ' + r.retried + ' message(s) due now'); }).catch(fail); } }, 'Retry its queues'));
    var FAULTS = {
      'fail RCPT with 451 4.3.2 (try later)': { fault: 'fail', command: 'RCPT', reply: '451 4.3.2 System not accepting network messages' },
      'fail RCPT with 550 5.7.1 (refuse)': { fault: 'fail', command: 'RCPT', reply: '550 5.7.1 Unable to relay' },
      'break the TLS handshake after STARTTLS': { fault: 'tlsHandshakeFails' },
      'drop the connection during DATA': { fault: 'dropDuringData' },
      'answer every command 2 s late': { fault: 'slow', delayMs: 2000 },
      'heal (every fault off)': { fault: 'heal' },
    };
    var faults = h('form', { class: 'inline', onsubmit: function (e) {
      e.preventDefault();
      var n = e.target.elements.node.value, f = e.target.elements.fault.value;
      api('/api/nodes/' + encodeURIComponent(n) + '/faults', FAULTS[f]).then(function (r) { say(n + ': ' + f + ' — now ' + r.health); refresh(); }).catch(fail);
    } },
      h('label', null, 'node ', h('select', { name: 'node' }, opts())),
      h('label', null, 'fault ', h('select', { name: 'fault' }, Object.keys(FAULTS).map(function (k) { return h('option', { value: k, text: k }); }))),
      h('button', { type: 'submit' }, 'Switch on'));
    view.replaceChildren(h('h2', { text: 'Actions' }),
      h('fieldset', null, h('legend', { text: 'Send a test message (as a user of the node)' }), send),
      h('fieldset', null, h('legend', { text: 'Lab clock' }), clock),
      h('fieldset', null, h('legend', { text: 'Nodes' }), node),
      h('fieldset', null, h('legend', { text: 'Faults (as scenario steps switch them)' }), faults));
  };

  // ---- frame ----
  function show(tab) {
    state.tab = tab;
    document.querySelectorAll('nav.tabs button').forEach(function (b) { var on = b.dataset.view === tab; b.setAttribute('aria-selected', String(on)); b.tabIndex = on ? 0 : -1; });
    view.setAttribute('aria-labelledby', 'tab-' + tab);
    history.replaceState(null, '', '#' + tab);
    renderers[tab]();
  }
  function refreshStatus() {
    return api('/api/lab').then(function (lab) {
      var first = !state.lab;
      state.lab = lab;
      var down = lab.nodes.filter(function (n) { return n.health !== 'up'; }).map(function (n) { return n.name + ' ' + n.health; });
      statusBar.replaceChildren(h('span', { class: live ? 'live-on' : 'live-off', text: live ? '● live' : '○ reconnecting' }), ' · lab clock ' + lab.now.slice(0, 19).replace('T', ' ') + ' · ' + lab.messages + ' messages · ' + lab.events + ' events · ' + lab.nodes.length + ' nodes' + (down.length ? ' · ' + down.join(', ') : ''));
      if (first) renderers[state.tab]();
    });
  }
  var pending = null;
  var lastEvent = null;
  function refresh(ev) {
    lastEvent = ev || lastEvent;
    if (pending) return;
    pending = setTimeout(function () {
      var e = lastEvent;
      pending = null; lastEvent = null;
      refreshStatus().catch(fail);
      var r = refreshers[state.tab];
      if (r) r(e || undefined);
    }, 200);
  }
  var live = false;
  function follow() {
    var source = new EventSource('/api/events');
    source.addEventListener('open', function () { live = true; refresh(); });
    source.addEventListener('trace', function (m) { refresh(JSON.parse(m.data)); });
    source.addEventListener('error', function () { live = false; refreshStatus().catch(function () {}); });
  }
  var tabs = Array.prototype.slice.call(document.querySelectorAll('nav.tabs button'));
  tabs.forEach(function (b, i) {
    b.addEventListener('click', function () { show(b.dataset.view); });
    b.addEventListener('keydown', function (ev) {
      var d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (!d) return;
      var t = tabs[(i + d + tabs.length) % tabs.length];
      t.focus(); show(t.dataset.view);
    });
  });
  document.addEventListener('keydown', function (ev) {
    if (state.tab !== 'messages' || /INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)) return;
    if (ev.key === 'n') { var older = document.querySelector('#list .pager button:nth-child(2)'); if (older && !older.disabled) older.click(); }
    if (ev.key === 'p') { var newer = document.querySelector('#list .pager button:nth-child(1)'); if (newer && !newer.disabled) newer.click(); }
  });
  // a diagram's header badge links to its diff: open it, as the report does (details do not open on :target)
  window.addEventListener('hashchange', function () {
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (el && el.tagName === 'DETAILS') { el.open = true; el.scrollIntoView(); el.querySelector('summary').focus(); }
  });
  var initial = location.hash.slice(1);
  state.tab = renderers[initial] ? initial : 'messages';
  show(state.tab);
  refreshStatus().catch(fail);
  follow();
})();
`;
