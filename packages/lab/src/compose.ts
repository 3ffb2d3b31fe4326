import { rfc5322Date } from '@relaylab/core';
import type { MessageSpec } from './scenario-model';

/** The Message-ID a scenario message carries, so every node's trace events can be tied back to it. */
export function labMessageId(scenarioName: string, messageId: string): string {
  const slug =
    scenarioName
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'scenario';
  return `<${messageId}.${slug}@relaylab.test>`;
}

/** RFC 5322 bytes for a scenario message; `raw` is used as written (CRLF line ends). */
export function composeMessage(spec: MessageSpec, scenarioName: string, date: Date): Buffer {
  if (spec.raw !== undefined) return Buffer.from(spec.raw.replace(/\r?\n/g, '\r\n'), 'utf8');
  const headers: Array<[string, string]> = [
    ['From', spec.from],
    ['To', spec.to.join(', ')],
    ['Subject', spec.subject ?? `relaylab ${spec.id}`],
    ['Date', rfc5322Date(date)],
    ['Message-ID', labMessageId(scenarioName, spec.id)],
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ...Object.entries(spec.headers ?? {}),
  ];
  const head = headers.map(([k, v]) => `${k}: ${v}`).join('\r\n');
  const body = (spec.body ?? `Message ${spec.id} from the relaylab scenario ${scenarioName}.`).replace(/\r?\n/g, '\r\n');
  return Buffer.from(`${head}\r\n\r\n${body}\r\n`, 'utf8');
}
