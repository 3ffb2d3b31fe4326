import { REPLIES, type SmtpReply } from './codes';
import { outboundRoutes, selectOutboundRoute, type OutboundRoute } from './connectors';
import type { NodeSpec, Organization } from './model';
import { domainMatches, domainOf, normalizeName } from './names';
import { tenantIdOf } from './pipeline';
import { presetFor, type RolePreset } from './roles';
import type { RelayRights } from './relay';
import { accept, refuse, type Accepted, type Refused } from './verdict';

/** A node as policy sees it: its spec plus what follows from its role and organization. */
export interface NodeContext {
  name: string;
  spec: NodeSpec;
  preset: RolePreset;
  acceptedDomains: string[];
  routes: OutboundRoute[];
  mailboxes: Set<string>;
  /** The organization's tenant id (Exchange Online), given or derived from its name. */
  tenantId?: string;
}

export function nodeContext(name: string, spec: NodeSpec, organizations: Record<string, Organization> = {}): NodeContext {
  const acceptedDomains = spec.organization ? (organizations[spec.organization]?.domains.map(normalizeName) ?? []) : [];
  return {
    name,
    spec,
    preset: presetFor(spec),
    acceptedDomains,
    routes: outboundRoutes(spec, acceptedDomains),
    mailboxes: new Set((spec.mailboxes ?? []).map((m) => m.toLowerCase())),
    tenantId: spec.organization ? tenantIdOf(spec.organization, organizations[spec.organization]?.tenantId) : undefined,
  };
}

/** Where an accepted recipient goes. Unroutable: taken now (250), returned to the sender with a DSN. */
export type Destination =
  | { kind: 'local'; mailbox: string }
  | { kind: 'relay'; route: OutboundRoute; /** The address the next hop gets, when the categorizer retargeted it. */ retarget?: string }
  | { kind: 'unroutable'; reply: SmtpReply };

export type RecipientDecision = (Accepted & { destination: Destination }) | Refused;

const to = (destination: Destination, reason: string): RecipientDecision => ({ ...accept(reason), destination });

function lookup(map: Record<string, string> | undefined, address: string): string | undefined {
  if (!map) return undefined;
  const hit = Object.entries(map).find(([k]) => k.toLowerCase() === address);
  return hit?.[1].toLowerCase();
}

/** Where the message came from, as far as routing cares: centralized mail transport depends on it. */
export type MessageOrigin = 'submission' | 'onpremises' | 'external';

/** The OnPremises outbound connector with RouteAllMessagesViaOnPremises, if the tenant has one. */
function centralizedConnector(ctx: NodeContext): OutboundRoute | undefined {
  const c = (ctx.spec.outboundConnectors ?? []).find((x) => x.RouteAllMessagesViaOnPremises && x.Enabled !== false);
  return c ? ctx.routes.find((r) => r.connector === c.Name) : undefined;
}

/**
 * Where a recipient goes from this node: a local mailbox, a connector, or a refusal. A recipient
 * in an accepted domain without a local mailbox follows a connector for that domain (the shared
 * namespace of a hybrid); outside the accepted domains only sessions allowed to relay may send.
 */
export function routeRecipient(ctx: NodeContext, recipient: string, relay: RelayRights, origin: MessageOrigin = 'external'): RecipientDecision {
  const address = recipient.toLowerCase();
  const centralized = origin !== 'onpremises' ? centralizedConnector(ctx) : undefined;
  const local = ctx.mailboxes.has(address) ? address : lookup(ctx.spec.proxyAddresses, address);
  if (local && ctx.mailboxes.has(local)) {
    // Centralized mail transport: Internet mail for cloud mailboxes visits on premises first [doc].
    if (centralized && origin === 'external') {
      return to(
        { kind: 'relay', route: centralized },
        `RouteAllMessagesViaOnPremises on ${centralized.connector}: Internet mail for ${address} goes through on premises first`,
      );
    }
    return to(
      { kind: 'local', mailbox: local },
      local === address ? `${address} is a mailbox on ${ctx.spec.hostname}` : `${address} is a proxy address of mailbox ${local} on ${ctx.spec.hostname}`,
    );
  }
  const remote = lookup(ctx.spec.remoteMailboxes, address);
  if (remote) {
    const route = selectOutboundRoute(ctx.routes, domainOf(remote), ctx.preset);
    if (route) {
      return to({ kind: 'relay', route, retarget: remote }, `${address} is a remote mailbox; RemoteRoutingAddress ${remote} goes through ${route.connector}`);
    }
    return to({ kind: 'unroutable', reply: REPLIES.noRoute }, `${address} is a remote mailbox but no connector covers its RemoteRoutingAddress ${remote}`);
  }
  const domain = domainOf(address);
  const accepted = ctx.acceptedDomains.includes(domain);
  const route = selectOutboundRoute(ctx.routes, domain, ctx.preset);
  if (accepted) {
    // An authoritative domain leaves only through a connector that names it: `*` is for the Internet.
    const namesDomain = route && route.kind !== 'Default' && route.domains.some((p) => p !== '*' && domainMatches(p, domain));
    if (route && namesDomain) {
      return to({ kind: 'relay', route }, `${domain} is an accepted domain without a mailbox for ${address} here; connector ${route.connector} covers it`);
    }
    const reply = REPLIES[ctx.preset.recipientNotFound];
    return refuse(reply, `${address} is in accepted domain ${domain} but has no mailbox on ${ctx.spec.hostname} and no connector covers it`);
  }
  if (!relay.allowed) {
    return refuse(
      REPLIES[ctx.preset.relayDenied],
      `${domain} is not an accepted domain of ${ctx.spec.hostname} and the session may not relay (${relay.reason})`,
    );
  }
  if (centralized && origin === 'submission') {
    return to(
      { kind: 'relay', route: centralized },
      `RouteAllMessagesViaOnPremises on ${centralized.connector}: mail to the Internet leaves through on premises`,
    );
  }
  if (!route) {
    return to({ kind: 'unroutable', reply: REPLIES.noRoute }, `no send connector on ${ctx.spec.hostname} has an address space covering ${domain}`);
  }
  return to({ kind: 'relay', route }, `relay to ${domain} through ${route.connector} (${relay.reason})`);
}
