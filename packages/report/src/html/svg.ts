import { esc } from './escape';

/** Shared SVG pieces: arrowheads per link status, and text with a tooltip for what was cut. */
export const ARROW_DEFS = `<defs>${(['verified', 'tls', 'plain', 'failed'] as const)
  .map(
    (s) =>
      `<marker id="arrow-${s}" class="arrow-${s}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>`,
  )
  .join('')}</defs>`;

export function svgText(x: number, y: number, text: string, shown: string, cls: string, anchor: 'start' | 'middle' | 'end' = 'middle'): string {
  const title = shown === text ? '' : `<title>${esc(text)}</title>`;
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" class="${cls}" text-anchor="${anchor}">${title}${esc(shown)}</text>`;
}

export const LEGEND: Array<[string, string]> = [
  ['verified', 'TLS, certificate verified'],
  ['tls', 'TLS, certificate not verified'],
  ['plain', 'plaintext'],
  ['failed', 'refused or deferred'],
];

export function legend(x: number, y: number): string {
  return LEGEND.map(([status, label], i) => {
    const lx = x + i * 190;
    return `<line x1="${lx}" y1="${y}" x2="${lx + 28}" y2="${y}" class="link link-${status}"/><text x="${lx + 34}" y="${y + 4}" class="legend">${esc(label)}</text>`;
  }).join('');
}
