import { bodySha256, headerEnd, parseHeaders, type HeaderField } from '@relaylab/core';
import type { Expectation } from './scenario-model';
import { lookupIn, type Trace } from './trace-index';

type Fail = (field: string, expected: unknown, actual: unknown) => void;

/** The body as submitted (its digest in the `submitted` event) and the copy the mailbox holds. */
export interface BodyEvidence {
  submittedSha256?: string;
  /** The header fields as submitted, folds kept as written. */
  submittedHeaders?: HeaderField[];
  /** The whole stored message (header section and body), when it was delivered. */
  stored?: Buffer;
  /** Each node's digest of the body as it arrived there, in order, to say where it changed. */
  arrivals: Array<{ node: string; sha256?: string }>;
}

export function bodyEvidence(events: Trace, messageId: string, stored: Buffer | undefined): BodyEvidence {
  const mine = lookupIn(events)
    .of(messageId)
    .filter((e) => e.type === 'submitted' || e.type === 'received');
  const submitted = mine.find((e) => e.type === 'submitted');
  return {
    submittedSha256: submitted?.type === 'submitted' ? submitted.bodySha256 : undefined,
    submittedHeaders: submitted?.type === 'submitted' ? submitted.headersIn : undefined,
    stored,
    arrivals: mine.flatMap((e) => (e.type === 'received' ? [{ node: e.node, sha256: e.bodySha256 }] : [])),
  };
}

/** `body: { unchanged: true }` and `bodyMatches`: judged on the stored bytes, never on the trace alone. */
export function checkBody(e: Pick<Expectation, 'body' | 'bodyMatches' | 'headersIntact'>, evidence: BodyEvidence | undefined, fail: Fail): number {
  let checks = e.headersIntact === undefined ? 0 : checkHeadersIntact(e.headersIntact, evidence, fail);
  const stored = evidence?.stored;
  const body = stored?.subarray(headerEnd(stored));
  if (e.body?.unchanged !== undefined) {
    checks++;
    if (!body || !evidence?.submittedSha256) {
      fail('body.unchanged', 'the body as submitted and as the mailbox holds it', body ? 'no submission digest in the trace' : 'no delivered copy');
    } else {
      const now = bodySha256(stored!);
      const same = now === evidence.submittedSha256;
      if (same !== e.body.unchanged) {
        const changedAt = evidence.arrivals.find((a) => a.sha256 !== undefined && a.sha256 !== evidence.submittedSha256);
        fail(
          'body.unchanged',
          e.body.unchanged ? `SHA-256 ${evidence.submittedSha256} (as submitted)` : 'a body that differs from the one submitted',
          same ? `SHA-256 ${now}, the same as submitted` : `SHA-256 ${now}${changedAt ? `; first different on arrival at ${changedAt.node}` : ''}`,
        );
      }
    }
  }
  if (e.bodyMatches !== undefined) {
    checks++;
    const text = body?.toString('utf8');
    if (text === undefined) fail('bodyMatches', `/${e.bodyMatches}/`, 'no delivered copy');
    else if (!new RegExp(e.bodyMatches, 'm').test(text)) fail('bodyMatches', `/${e.bodyMatches}/`, text.length > 200 ? `${text.slice(0, 197)}...` : text);
  }
  return checks;
}

const fieldText = (f: HeaderField) => `${f.name}: ${f.value}`;

/**
 * `headersIntact: true`: the fields submitted are the bottom of the stored header section, in
 * order, each with its name and value as written (folds and their whitespace kept): the nodes on
 * the way only prepended fields above them and removed none of them.
 */
function checkHeadersIntact(want: boolean, evidence: BodyEvidence | undefined, fail: Fail): number {
  const submitted = evidence?.submittedHeaders;
  const stored = evidence?.stored;
  if (!submitted || !stored) {
    fail('headersIntact', 'the header fields as submitted and as the mailbox holds them', stored ? 'no submission in the trace' : 'no delivered copy');
    return 1;
  }
  const kept = parseHeaders(stored);
  const tail = kept.slice(Math.max(0, kept.length - submitted.length));
  const firstDifferent = submitted.findIndex((f, i) => tail[i] === undefined || fieldText(f) !== fieldText(tail[i]!));
  const intact = kept.length >= submitted.length && firstDifferent < 0;
  if (intact !== want) {
    fail(
      'headersIntact',
      want ? `the ${submitted.length} submitted fields, as written, at the bottom of the stored header section` : 'a submitted field changed or removed',
      intact
        ? 'every submitted field is intact'
        : `submitted ${JSON.stringify(fieldText(submitted[firstDifferent]!))}, stored ${JSON.stringify(tail[firstDifferent] ? fieldText(tail[firstDifferent]!) : '(nothing)')}`,
    );
  }
  return 1;
}
