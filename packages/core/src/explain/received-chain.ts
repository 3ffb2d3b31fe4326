import { unfoldValue } from '../headers';

/**
 * A Received header field read back into a hop: who handed the message to whom, when, and over
 * what TLS. Reads the forms docs/exchange.md ("Received headers") describes — Exchange's
 * `with Microsoft SMTP Server (version=TLS1_2, cipher=…)` and Postfix's `(using TLSv1.3 with
 * cipher … (256/256 bits))` — and any RFC 5321 §4.4 trace field with `with ESMTP(S)`.
 */

export interface ReceivedTls {
  /** As the header wrote it: `TLS1_2` (Exchange) or `TLSv1.3` (Postfix). */
  version?: string;
  /** The same, as `TLSv1.2`, for comparing forms. */
  protocol?: string;
  cipher?: string;
  bits?: number;
}

export interface ReceivedHop {
  /** The HELO/EHLO name the client gave. */
  from?: string;
  fromIp?: string;
  /** The receiving host. */
  by?: string;
  byIp?: string;
  /** `Microsoft SMTP Server`, `ESMTPS`, `ESMTP`, `mapi`, … */
  with?: string;
  /** Who wrote the field, from its shape. */
  writer: 'exchange' | 'postfix' | 'other';
  /** TLS as the field states it; `null` when it says the hop was not encrypted; undefined when it does not say. */
  tls: ReceivedTls | null | undefined;
  id?: string;
  for?: string;
  date?: string;
  raw: string;
}

/** Top-level text and the parenthesized comments of a field, kept apart so "with" inside a comment is not the `with` clause. */
function splitComments(text: string): { top: string; comments: string[] } {
  let top = '';
  const comments: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') {
      if (depth > 0) current += ch;
      depth++;
    } else if (ch === ')' && depth > 0) {
      depth--;
      if (depth === 0) {
        comments.push(current.trim());
        current = '';
        top += ' ';
      } else current += ch;
    } else if (depth > 0) current += ch;
    else top += ch;
  }
  return { top: top.replace(/\s+/g, ' ').trim(), comments };
}

const IPV4 = /\b(\d{1,3}(?:\.\d{1,3}){3})\b/;
const IPV6 = /\b(?:IPv6:)?([0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7})\b/i;

function ipIn(comment: string): string | undefined {
  const bracket = /\[([^\]]+)\]/.exec(comment);
  const text = bracket ? bracket[1]! : comment;
  return IPV4.exec(text)?.[1] ?? IPV6.exec(text)?.[1];
}

const exchangeToProtocol = (v: string) => v.replace(/^TLS(\d)_(\d)$/i, 'TLSv$1.$2');

export function parseReceived(value: string): ReceivedHop {
  const raw = unfoldValue(value);
  const semi = raw.lastIndexOf(';');
  const clauses = semi >= 0 ? raw.slice(0, semi) : raw;
  const date = semi >= 0 ? raw.slice(semi + 1).trim() : undefined;
  const { top, comments } = splitComments(clauses);
  const word = (name: string) => new RegExp(`(?:^|\\s)${name}\\s+(\\S+)`, 'i').exec(top)?.[1];
  const hop: ReceivedHop = { writer: 'other', tls: undefined, raw, ...(date && { date }) };
  const from = word('from');
  const by = word('by');
  if (from) hop.from = from;
  if (by) hop.by = by;
  const withClause = /(?:^|\s)with\s+(.+?)(?=\s+(?:id|via|for)\s|$)/i.exec(top)?.[1];
  if (withClause) hop.with = withClause.trim();
  const id = word('id');
  if (id) hop.id = id;
  const forAddr = /(?:^|\s)for\s+<?([^\s<>;]+@[^\s<>;]+)>?/i.exec(top)?.[1];
  if (forAddr) hop.for = forAddr;

  // Comments sit after the name they describe: before "by" they describe the client, after it the server.
  const byAt = clauses.search(/\sby\s/i);
  let offset = 0;
  for (const comment of comments) {
    const at = clauses.indexOf(`(${comment}`, offset);
    offset = at >= 0 ? at + 1 : offset;
    // Exchange's `version=TLS1_2, cipher=…`, and Sendmail's `version=TLSv1.3 cipher=… bits=256`.
    const exchange = /version=([A-Za-z0-9_.]+)\s*,?\s*cipher=([A-Za-z0-9_-]+)(?:\s+bits=(\d+))?/.exec(comment);
    const postfix = /using\s+(TLSv[\d.]+|SSLv\d)\s+with\s+cipher\s+(\S+)(?:\s+\((\d+)\/(\d+)\s+bits\))?/i.exec(comment);
    if (exchange) {
      hop.tls = { version: exchange[1]!, protocol: exchangeToProtocol(exchange[1]!), cipher: exchange[2]!, ...(exchange[3] && { bits: Number(exchange[3]) }) };
      continue;
    }
    // Exchange 2010 wrote `with Microsoft SMTP Server (TLS)`: encrypted, version not given.
    if (/^TLS$/i.test(comment)) {
      hop.tls = {};
      continue;
    }
    if (postfix) {
      hop.tls = { version: postfix[1]!, protocol: postfix[1]!, cipher: postfix[2]!, ...(postfix[3] && { bits: Number(postfix[3]) }) };
      continue;
    }
    if (/^postfix\b/i.test(comment)) {
      hop.writer = 'postfix';
      continue;
    }
    const ip = ipIn(comment);
    if (!ip) continue;
    if (byAt < 0 || at < byAt) hop.fromIp ??= ip;
    else hop.byIp ??= ip;
  }
  // Exchange's own forms: SMTP between servers, and mapi/HTTPS submission with an Exchange build number as id.
  if (/^Microsoft SMTP Server/i.test(hop.with ?? '') || (/^(mapi|HTTPS)$/i.test(hop.with ?? '') && /^15\.\d/.test(hop.id ?? ''))) hop.writer = 'exchange';
  if (hop.tls === undefined) {
    // RFC 3848 and RFC 6531 protocol types: an S after SMTP/LMTP means TLS (ESMTPS, LMTPSA, UTF8SMTPS …); without it, none.
    // Exchange without a version says none.
    if (/^(?:UTF8)?(?:ESMTP|LMTP|SMTP)SA?$/i.test(hop.with ?? '')) hop.tls = {};
    else if (/^(?:UTF8)?(?:ESMTP|LMTP|SMTP)A?$/i.test(hop.with ?? '') || (hop.writer === 'exchange' && /^Microsoft SMTP Server$/i.test(hop.with ?? '')))
      hop.tls = null;
  }
  return hop;
}

/** Received fields, top (newest) first in the message, returned oldest first: the order the message travelled. */
export function receivedChain(values: readonly string[]): ReceivedHop[] {
  return values.map(parseReceived).reverse();
}
