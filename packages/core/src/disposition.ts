import { folderFor } from './antispam';
import { ruleScopedRoute, type OutboundRoute } from './connectors';
import { formatReply } from './codes';
import { applyEdits, type HeaderEdit } from './edits';
import { domainOf } from './names';
import { addressRewrite, outboundEdits, type MessageOutcome } from './pipeline';
import type { Destination, NodeContext } from './routing';

/** One copy for one next hop: what the queue will carry, with the header edits made to it. */
export interface Relay {
  route: OutboundRoute;
  /** `connector|smart hosts or recipient domain`: Exchange keeps one queue per next hop. */
  nextHop: string;
  from: string;
  recipients: string[];
  raw: Buffer;
  edits: HeaderEdit[];
}

/** What one accepted message becomes on this node, decided before any of it happens. */
export interface Disposition {
  deleted?: { rule: string; recipients: string[] };
  local: Array<{ rcpt: string; mailbox: string; folder: string }>;
  unroutable: Array<{ rcpt: string; reply: string; reason: string }>;
  retargeted: Array<{ rcpt: string; to: string; reason: string }>;
  relays: Relay[];
}

/** An accepted recipient: where RCPT TO (or submission) decided it goes, and why. */
export interface AcceptedRecipient {
  destination: Destination;
  reason: string;
}

/**
 * After the message is accepted: a rule may delete it or send the recipients outside the
 * organization through its connector (RouteMessageOutboundConnector); mailboxes get it in the
 * folder its SCL picks; relayed copies are grouped per next hop, with the headers that leave the
 * organization translated and, for mail leaving it altogether, the sender's address rewritten.
 */
export function planDisposition(ctx: NodeContext, from: string, outcome: MessageOutcome, recipients: ReadonlyMap<string, AcceptedRecipient>): Disposition {
  const plan: Disposition = { local: [], unroutable: [], retargeted: [], relays: [] };
  if (outcome.deletedBy) return { ...plan, deleted: { rule: outcome.deletedBy, recipients: [...recipients.keys()] } };
  const internal = (address: string) => ctx.acceptedDomains.includes(domainOf(address));
  const ruled = outcome.rules.route;
  const ruleRoute = ruled ? ruleScopedRoute(ctx.spec, ruled.connector, ctx.acceptedDomains) : undefined;
  const groups = new Map<string, { route: OutboundRoute; recipients: string[] }>();
  for (const [rcpt, decided] of recipients) {
    let { destination, reason } = decided;
    if (ruleRoute && destination.kind === 'relay' && !internal(rcpt)) {
      destination = { ...destination, route: ruleRoute };
      reason = `mail flow rule ${ruled!.rule} routes through ${ruleRoute.connector}`;
    }
    if (destination.kind === 'local') {
      plan.local.push({ rcpt, mailbox: destination.mailbox, folder: ctx.preset.exchange ? folderFor(outcome.scl) : 'Inbox' });
    } else if (destination.kind === 'unroutable') {
      plan.unroutable.push({ rcpt, reply: formatReply(destination.reply), reason });
    } else {
      const next = destination.retarget ?? rcpt;
      if (destination.retarget) plan.retargeted.push({ rcpt, to: destination.retarget, reason });
      const hop = destination.route.smartHosts.length ? destination.route.smartHosts.join(',') : domainOf(next);
      const key = `${destination.route.connector}|${hop}`;
      const group = groups.get(key) ?? { route: destination.route, recipients: [] };
      group.recipients.push(next);
      groups.set(key, group);
    }
  }
  for (const [nextHop, group] of groups) {
    const edits = outboundEdits(ctx, group.route, outcome.raw);
    let sender = from;
    if (!group.recipients.some(internal)) {
      const rewritten = addressRewrite(ctx, from, outcome.raw);
      sender = rewritten.from;
      edits.push(...rewritten.edits);
    }
    plan.relays.push({ route: group.route, nextHop, from: sender, recipients: group.recipients, raw: applyEdits(outcome.raw, edits), edits });
  }
  return plan;
}
