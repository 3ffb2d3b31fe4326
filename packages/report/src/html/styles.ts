/** All styling inline: the report is one file that works offline. */
export const STYLES = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --plain: #6e7781; --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); margin: 0; padding: 0 24px 48px; }
header.run { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 0; }
section.scenario, .message, details.header-step { scroll-margin-top: 12px; }
h1 { font-size: 20px; margin: 0 0 6px; } h2 { font-size: 18px; margin: 32px 0 8px; } h3 { font-size: 15px; margin: 20px 0 6px; } h4 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.badge-pass, .badge-fail { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; vertical-align: 2px; }
.badge-pass { background: var(--ok); } .badge-fail { background: var(--bad); }
nav.toc a { margin-right: 14px; white-space: nowrap; }
section.scenario { border-top: 2px solid var(--line); }
.muted, .file { color: var(--muted); }
.diagram { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px; margin: 6px 0 12px; }
svg text { font-family: system-ui, "DejaVu Sans", sans-serif; }
svg .org { fill: var(--bg); stroke: var(--line); }
svg .org-label { font-size: 12px; fill: var(--muted); font-weight: 600; }
svg .node rect, svg .participant rect { fill: #fff; stroke: #57606a; stroke-width: 1.2; }
svg .node-name { font-size: 13px; font-weight: 700; fill: var(--ink); }
svg .node-detail { font-size: 11px; fill: var(--muted); }
svg .lifeline { stroke: #8c959f; stroke-dasharray: 4 4; }
svg .link { fill: none; stroke-width: 2; }
svg .link-verified { stroke: var(--ok); } svg .link-tls { stroke: var(--warn); } svg .link-plain { stroke: var(--plain); stroke-dasharray: 6 4; } svg .link-failed { stroke: var(--bad); stroke-dasharray: 3 3; }
svg .arrow-verified { fill: var(--ok); } svg .arrow-tls { fill: var(--warn); } svg .arrow-plain { fill: var(--plain); } svg .arrow-failed { fill: var(--bad); }
svg .link-label, svg .hop-label { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg .label-verified { fill: var(--ok); } svg .label-tls { fill: var(--warn); } svg .label-plain { fill: var(--plain); } svg .label-failed { fill: var(--bad); }
svg .hop-detail { font-size: 11px; fill: var(--ink); paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg .hop-class { font-size: 11px; fill: #8250df; paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg .cross { font-size: 16px; fill: var(--bad); font-weight: 700; }
svg .legend { font-size: 11px; fill: var(--muted); }
svg .note { fill: #fff8c5; stroke: #d4a72c; } svg .note-text { font-size: 11px; }
svg .badge { fill: #eaeef2; stroke: #8c959f; } svg .badge-added { fill: #dafbe1; stroke: var(--ok); } svg .badge-removed { fill: #ffebe9; stroke: var(--bad); } svg .badge-changed { fill: #fff8c5; stroke: var(--warn); }
svg .badge-text { font-size: 10.5px; fill: var(--ink); } svg a.header-link { cursor: pointer; }
svg .verdict rect { stroke-width: 1.5; fill: #ffebe9; stroke: var(--bad); } svg .verdict text { fill: var(--bad); } svg .verdict-text { font-size: 12px; font-weight: 700; }
svg .verdict-delivered rect { fill: #dafbe1; stroke: var(--ok); } svg .verdict-delivered text { fill: var(--ok); }
svg .verdict-deleted rect { fill: #fff8c5; stroke: var(--warn); } svg .verdict-deleted text { fill: var(--warn); }
table { border-collapse: collapse; }
table.expectations { width: 100%; margin: 6px 0; } table.expectations td, table.expectations th { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
tr.pass td.result { color: var(--ok); font-weight: 600; } tr.fail td.result { color: var(--bad); font-weight: 600; }
.failure .exp { color: var(--ok); } .failure .act { color: var(--bad); }
.failure { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; margin: 2px 0; }
pre.story { background: var(--bg); padding: 8px; border-radius: 6px; font-size: 12px; overflow-x: auto; }
.message { border-left: 4px solid var(--line); padding-left: 12px; margin: 18px 0; } .message.state-delivered { border-color: var(--ok); } .message.failed-expectation { border-color: var(--bad); }
ol.verdicts > li { margin: 4px 0; } ol.verdicts li.bad { color: var(--bad); } ol.verdicts li.final { font-weight: 600; }
details { margin: 3px 0; } summary { cursor: pointer; }
details.header-step { border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; background: #fff; }
details.header-step.changed > summary { font-weight: 600; } details.header-step:target { outline: 3px solid #54aeff; }
.step-no { display: inline-block; min-width: 20px; text-align: center; background: var(--bg); border-radius: 10px; font-size: 12px; }
.count-added { color: var(--ok); } .count-removed { color: var(--bad); }
table.diff { width: 100%; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; margin: 6px 0; }
table.diff td, table.diff th { padding: 2px 6px; vertical-align: top; text-align: left; } table.diff th { color: var(--muted); font-weight: normal; }
table.diff td.hvalue { word-break: break-all; } table.diff td.why { color: var(--muted); font-family: system-ui, sans-serif; }
tr.diff-added { background: #dafbe1; } tr.diff-changed { background: #fff8c5; } .was { color: var(--bad); text-decoration: line-through; } .count-changed { color: var(--warn); } tr.diff-removed { background: #ffebe9; } tr.diff-removed td.hname, tr.diff-removed td.hvalue { text-decoration: line-through; }
td.mark { font-weight: 700; width: 1em; }
table.kv { font-size: 12px; border: 1px solid var(--line); margin: 2px 0; } table.kv th { text-align: left; color: var(--muted); font-weight: normal; padding: 1px 6px; vertical-align: top; white-space: nowrap; } table.kv td { padding: 1px 6px; word-break: break-word; }
.none { color: var(--muted); }
details.event > summary { font-size: 12px; } details.event .at { color: var(--muted); font-family: ui-monospace, monospace; } details.event .type { display: inline-block; min-width: 70px; font-weight: 600; }
.ev-rejected .type, .ev-bounced .type, .ev-refused .type, .ev-deferred .type { color: var(--bad); } .ev-delivered .type { color: var(--ok); }
button.toggle { font-size: 12px; margin-left: 8px; }
`;
