import type { Topology } from '@relaylab/core';
import type { Fate } from '@relaylab/lab';
import { esc, fit } from './escape';
import { ARROW_DEFS, legend, svgText } from './svg';
import { linksOf } from './traffic';

const W = 210;
const H = 72;
const COL_GAP = 110;
const ROW_GAP = 34;
const TOP = 40;
const LEFT = 20;

interface Box {
  x: number;
  y: number;
}

/** Where a line from a box's centre towards `toward` leaves the box. */
function edgePoint(b: Box, toward: { x: number; y: number }): { x: number; y: number } {
  const cx = b.x + W / 2;
  const cy = b.y + H / 2;
  const dx = toward.x - cx;
  const dy = toward.y - cy;
  if (!dx && !dy) return { x: cx, y: cy };
  const t = Math.min(Math.abs(dx) ? W / 2 / Math.abs(dx) : Infinity, Math.abs(dy) ? H / 2 / Math.abs(dy) : Infinity);
  return { x: cx + dx * t, y: cy + dy * t };
}

/**
 * The topology as boxes per organization (one column each; nodes of no organization stand for
 * the Internet) with the connections the run's messages actually made between them.
 */
export function topologyDiagram(topology: Topology, fates: readonly Fate[]): string {
  const columns = new Map<string, string[]>();
  for (const [name, node] of Object.entries(topology.nodes)) {
    const org = node.organization ?? 'internet';
    columns.set(org, [...(columns.get(org) ?? []), name]);
  }
  const links = linksOf(topology, fates);
  // destinations outside the topology (an unresolvable host) get a column of their own
  const outside = [...new Set(links.flatMap((l) => [l.from, l.to]).filter((n) => !topology.nodes[n]))];
  if (outside.length) columns.set('outside the topology', outside);

  const boxes = new Map<string, Box>();
  const parts: string[] = [];
  let col = 0;
  let maxRows = 0;
  for (const [org, names] of columns) {
    const x = LEFT + col * (W + COL_GAP);
    maxRows = Math.max(maxRows, names.length);
    const frameH = names.length * (H + ROW_GAP) + 14;
    parts.push(`<rect x="${x - 10}" y="${TOP - 28}" width="${W + 20}" height="${frameH + 20}" class="org" rx="8"/>`);
    parts.push(svgText(x + W / 2, TOP - 12, org, fit(org, 32), 'org-label'));
    names.forEach((name, row) => {
      const y = TOP + row * (H + ROW_GAP);
      boxes.set(name, { x, y });
      const n = topology.nodes[name];
      const lines = n ? [`${n.role} · ${n.address}`, n.hostname] : ['not a lab node'];
      parts.push(
        `<g class="node" data-node="${esc(name)}"><rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6"/>${svgText(x + W / 2, y + 22, name, fit(name, 28), 'node-name')}${lines
          .map((l, i) => svgText(x + W / 2, y + 42 + i * 16, l, fit(l, 32), 'node-detail'))
          .join('')}</g>`,
      );
    });
    col++;
  }

  // parallel links between the same two nodes bend apart so each stays visible
  const seen = new Map<string, number>();
  const drawn = links.map((l) => {
    const a = boxes.get(l.from);
    const b = boxes.get(l.to);
    if (!a || !b) return '';
    const pair = [l.from, l.to].sort().join('\u0000');
    const nth = seen.get(pair) ?? 0;
    seen.set(pair, nth + 1);
    const ca = { x: a.x + W / 2, y: a.y + H / 2 };
    const cb = { x: b.x + W / 2, y: b.y + H / 2 };
    const len = Math.hypot(cb.x - ca.x, cb.y - ca.y) || 1;
    const sameColumn = a.x === b.x;
    const bend = (sameColumn ? W * 0.75 : 26) * (1 + nth) * (l.from < l.to ? 1 : -1);
    const ctrl = { x: (ca.x + cb.x) / 2 + (-(cb.y - ca.y) / len) * bend, y: (ca.y + cb.y) / 2 + ((cb.x - ca.x) / len) * bend };
    const p0 = edgePoint(a, ctrl);
    const p2 = edgePoint(b, ctrl);
    const mid = { x: 0.25 * p0.x + 0.5 * ctrl.x + 0.25 * p2.x, y: 0.25 * p0.y + 0.5 * ctrl.y + 0.25 * p2.y };
    const label = l.labels.join(', ');
    return `<g class="edge" data-from="${esc(l.from)}" data-to="${esc(l.to)}"><title>${esc(`${l.from} → ${l.to}: ${label}`)}</title><path d="M${p0.x.toFixed(1)},${p0.y.toFixed(1)} Q${ctrl.x.toFixed(1)},${ctrl.y.toFixed(1)} ${p2.x.toFixed(1)},${p2.y.toFixed(1)}" class="link link-${l.status}" marker-end="url(#arrow-${l.status})"/>${svgText(mid.x, mid.y + 4, label, fit(label, 26), `link-label label-${l.status}`)}</g>`;
  });

  const minWidth = LEFT * 2 + Math.max(1, columns.size) * (W + COL_GAP) - COL_GAP + 20;
  const width = Math.max(minWidth, 790);
  const height = TOP + maxRows * (H + ROW_GAP) + 50;
  return `<svg class="topology" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="topology ${esc(topology.name ?? '')}">${ARROW_DEFS}${parts.join('')}${drawn.join('')}${legend(LEFT, height - 18)}</svg>`;
}
