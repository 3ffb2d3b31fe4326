import { esc } from './escape';
import { STYLES } from './styles';
import { LIVE_SCRIPT } from './live-script';

/** The report's styles, and what the live view adds: a fixed header, tabs, two panes and lists. */
export const LIVE_STYLES = `${STYLES}
body { padding: 0; }
header.live { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid var(--line); padding: 8px 16px 0; }
header.live h1 { font-size: 17px; display: inline-block; margin-right: 16px; }
#status { font-size: 12px; color: var(--muted); }
#status .live-on { color: var(--ok); font-weight: 600; } #status .live-off { color: var(--bad); font-weight: 600; }
nav.tabs { margin-top: 6px; } nav.tabs button { font: inherit; border: 1px solid var(--line); border-bottom: none; background: var(--bg); padding: 4px 14px; border-radius: 6px 6px 0 0; cursor: pointer; }
nav.tabs button[aria-selected="true"] { background: #fff; font-weight: 700; border-color: #8c959f; }
main { padding: 10px 16px; }
main h2 { margin: 2px 0 8px; }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, tr:focus-visible { outline: 3px solid #54aeff; outline-offset: 1px; }
.split { display: grid; grid-template-columns: minmax(420px, 38%) 1fr; gap: 14px; align-items: start; }
.pane { min-width: 0; } #list { overflow-x: auto; }
.detail { max-height: calc(100vh - 120px); overflow: auto; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; background: #fff; }
table.list { width: 100%; font-size: 12.5px; } table.list th, table.list td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.list th { color: var(--muted); font-weight: 600; position: sticky; top: 0; background: #fff; }
table.list tr.row { cursor: pointer; } table.list tr.row:hover { background: var(--bg); } table.list tr.row[aria-selected="true"] { background: #ddf4ff; }
td.clip { max-width: 150px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.pager { margin: 6px 0; font-size: 12px; } .pager button { margin-right: 6px; }
.badge-wait { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; background: var(--warn); vertical-align: 2px; }
.st-delivered { color: var(--ok); } .st-rejected, .st-bounced, .st-deleted { color: var(--bad); } .st-deferred, .st-unaccounted { color: var(--warn); }
.health-up { color: var(--ok); font-weight: 600; } .health-down { color: var(--bad); font-weight: 600; } .health-faulted { color: var(--warn); font-weight: 600; }
svg .node.node-down rect { stroke: var(--bad); stroke-width: 3; fill: #ffebe9; } svg .node.node-faulted rect { stroke: var(--warn); stroke-width: 3; fill: #fff8c5; }
form.inline label { margin-right: 10px; font-size: 12.5px; } form.inline input, form.inline select { font: inherit; font-size: 12.5px; }
form.stack label { display: block; margin: 4px 0; font-size: 12.5px; } form.stack input, form.stack select, form.stack textarea { font: inherit; width: 100%; max-width: 520px; }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 12px; } legend { font-weight: 600; }
#flash { min-height: 1.4em; font-size: 12.5px; } #flash.error { color: var(--bad); } #flash.ok { color: var(--ok); }
pre.raw { white-space: pre-wrap; word-break: break-all; font-size: 12px; background: var(--bg); padding: 8px; border-radius: 6px; max-height: 420px; overflow: auto; }
.where { font-weight: 600; }
`;

/**
 * The page `relaylab up` serves: a shell with no data in it. The script (served beside it, so the
 * page's Content-Security-Policy can forbid inline script) reads everything from the JSON API and
 * follows the lab through its server-sent events; nothing is fetched from anywhere else.
 */
export function livePageHtml(title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — relaylab</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header class="live">
<h1>relaylab · ${esc(title)}</h1><span id="status">connecting…</span>
<div id="flash" role="status" aria-live="polite"></div>
<nav class="tabs" role="tablist" aria-label="views">
<button role="tab" id="tab-messages" data-view="messages" accesskey="m">Messages</button>
<button role="tab" id="tab-topology" data-view="topology" accesskey="t">Topology</button>
<button role="tab" id="tab-mailboxes" data-view="mailboxes" accesskey="b">Mailboxes</button>
<button role="tab" id="tab-queues" data-view="queues" accesskey="q">Queues</button>
<button role="tab" id="tab-tracking" data-view="tracking" accesskey="k">Message tracking</button>
<button role="tab" id="tab-actions" data-view="actions" accesskey="a">Actions</button>
</nav>
</header>
<main id="view" role="tabpanel" tabindex="-1"></main>
</body>
</html>
`;
}

export { LIVE_SCRIPT };
