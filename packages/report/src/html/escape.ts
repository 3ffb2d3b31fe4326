import { escapeXml } from '../xml';

/** HTML and SVG text are escaped the same way as XML. */
export const esc = (value: unknown): string => escapeXml(value === undefined || value === null ? '' : String(value));

/** Fragment identifiers from free text (scenario and message names). */
export function slug(...parts: Array<string | number>): string {
  return parts
    .map((p) =>
      String(p)
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, ''),
    )
    .filter(Boolean)
    .join('--');
}

/** SVG text does not wrap: shorten to what fits, the full text goes into a tooltip. */
export function fit(text: string, maxChars: number): string {
  const max = Math.max(8, Math.floor(maxChars));
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
