import type { TlsFacts } from './tls-facts';

/** Received header values in the form each kind of server writes (docs/exchange.md, "Received headers"). */

export interface ReceivedInput {
  style: 'exchange' | 'postfix';
  ehlo: string;
  clientIp: string;
  byHost: string;
  byIp: string;
  tls: Pick<TlsFacts, 'secure' | 'protocol' | 'cipher'> & { standardCipher?: string; cipherBits?: number };
  queueId: string;
  recipient?: string;
  date: Date;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

export function rfc5322Date(d: Date): string {
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** `TLSv1.2` → `TLS1_2`, as Exchange prints it. */
export function exchangeTlsVersion(protocol: string | undefined): string {
  return (protocol ?? 'TLS').replace(/^TLSv(\d)\.(\d)$/, 'TLS$1_$2');
}

export function receivedHeader(input: ReceivedInput): string {
  const { tls } = input;
  if (input.style === 'exchange') {
    const via = tls.secure
      ? `with Microsoft SMTP Server (version=${exchangeTlsVersion(tls.protocol)}, cipher=${tls.standardCipher ?? tls.cipher})`
      : 'with Microsoft SMTP Server';
    return `from ${input.ehlo} (${input.clientIp}) by ${input.byHost} (${input.byIp}) ${via} id 15.20.${input.queueId}; ${rfc5322Date(input.date)}`;
  }
  const using = tls.secure ? `\r\n\t(using ${tls.protocol} with cipher ${tls.cipher} (${tls.cipherBits ?? 256}/${tls.cipherBits ?? 256} bits))` : '';
  const proto = tls.secure ? 'ESMTPS' : 'ESMTP';
  const forPart = input.recipient ? `\r\n\tfor <${input.recipient}>` : '';
  return `from ${input.ehlo} (${input.ehlo} [${input.clientIp}])${using}\r\n\tby ${input.byHost} (Postfix) with ${proto} id ${input.queueId}${forPart}; ${rfc5322Date(input.date)}`;
}
