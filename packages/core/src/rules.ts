import { ipListed } from './ip';
import type { TransportRule } from './model';
import { domainMatches } from './names';
import type { SmtpReply } from './codes';

/** What a rule can see of a message: its classification, envelope, connecting IP and headers. */
export interface RuleMessage {
  fromScope: 'InOrganization' | 'NotInOrganization';
  /** MAIL FROM domain. */
  senderDomain: string;
  /** From header domain: what sender conditions read by default (SenderAddressLocation Header). */
  headerSenderDomain?: string;
  recipientDomains: string[];
  clientIp?: string;
  header(name: string): string[];
}

export interface RuleFiring {
  rule: string;
  actions: string[];
}

export interface RulesOutcome {
  fired: RuleFiring[];
  deletedBy?: string;
  reject?: { rule: string; reply: SmtpReply };
  scl?: { value: number; rule: string };
  setHeaders: Array<{ name: string; value: string; rule: string }>;
  route?: { connector: string; rule: string };
}

const anyDomain = (patterns: string[] | undefined, domains: string[]) => !!patterns && patterns.some((p) => domains.some((d) => domainMatches(p, d)));
const containsWords = (values: string[], words: string[] | undefined) =>
  !!words && values.some((v) => words.some((w) => v.toLowerCase().includes(w.toLowerCase())));
const matchesPatterns = (values: string[], patterns: string[] | undefined) =>
  !!patterns && values.some((v) => patterns.some((p) => new RegExp(p, 'i').test(v)));

/** Each predicate family the rule names must hold (Exchange ANDs conditions, ORs values inside one). */
function senderDomains(m: RuleMessage, location: TransportRule['SenderAddressLocation']): string[] {
  const header = m.headerSenderDomain ?? m.senderDomain;
  if (location === 'Envelope') return [m.senderDomain];
  if (location === 'HeaderOrEnvelope') return [header, m.senderDomain];
  return [header];
}

/** The conditions a rule tests; its ExceptIf… exceptions are the same set under other names. */
type RuleConditions = Pick<
  TransportRule,
  | 'FromScope'
  | 'SenderDomainIs'
  | 'RecipientDomainIs'
  | 'SenderIPRanges'
  | 'HeaderContainsMessageHeader'
  | 'HeaderContainsWords'
  | 'HeaderMatchesMessageHeader'
  | 'HeaderMatchesPatterns'
>;

function predicates(m: RuleMessage, location: TransportRule['SenderAddressLocation'], p: RuleConditions): boolean[] {
  const out: boolean[] = [];
  if (p.FromScope) out.push(p.FromScope === m.fromScope);
  if (p.SenderDomainIs) out.push(anyDomain(p.SenderDomainIs, senderDomains(m, location)));
  if (p.RecipientDomainIs) out.push(anyDomain(p.RecipientDomainIs, m.recipientDomains));
  if (p.SenderIPRanges) out.push(!!m.clientIp && ipListed(m.clientIp, p.SenderIPRanges));
  if (p.HeaderContainsMessageHeader) out.push(containsWords(m.header(p.HeaderContainsMessageHeader), p.HeaderContainsWords));
  if (p.HeaderMatchesMessageHeader) out.push(matchesPatterns(m.header(p.HeaderMatchesMessageHeader), p.HeaderMatchesPatterns));
  return out;
}

export function ruleApplies(rule: TransportRule, m: RuleMessage): boolean {
  const conditions = predicates(m, rule.SenderAddressLocation, rule);
  if (!conditions.every(Boolean)) return false;
  const exceptions = predicates(m, rule.SenderAddressLocation, {
    FromScope: rule.ExceptIfFromScope,
    SenderDomainIs: rule.ExceptIfSenderDomainIs,
    RecipientDomainIs: rule.ExceptIfRecipientDomainIs,
    SenderIPRanges: rule.ExceptIfSenderIPRanges,
    HeaderContainsMessageHeader: rule.ExceptIfHeaderContainsMessageHeader,
    HeaderContainsWords: rule.ExceptIfHeaderContainsWords,
    HeaderMatchesMessageHeader: rule.ExceptIfHeaderMatchesMessageHeader,
    HeaderMatchesPatterns: rule.ExceptIfHeaderMatchesPatterns,
  });
  return !exceptions.some(Boolean);
}

/** Mail flow rules in priority order (lower Priority first, then as listed); each firing is reported. */
export function evaluateRules(rules: readonly TransportRule[] | undefined, m: RuleMessage): RulesOutcome {
  const outcome: RulesOutcome = { fired: [], setHeaders: [] };
  const ordered = (rules ?? [])
    .map((rule, index) => ({ rule, order: rule.Priority ?? index }))
    .sort((a, b) => a.order - b.order)
    .map((x) => x.rule);
  for (const rule of ordered) {
    if (rule.State === 'Disabled' || !ruleApplies(rule, m)) continue;
    const actions: string[] = [];
    if (rule.SetSCL !== undefined) {
      outcome.scl = { value: rule.SetSCL, rule: rule.Name };
      actions.push(`SetSCL ${rule.SetSCL}`);
    }
    if (rule.SetHeaderName) {
      outcome.setHeaders.push({ name: rule.SetHeaderName, value: rule.SetHeaderValue ?? '', rule: rule.Name });
      actions.push(`SetHeader ${rule.SetHeaderName}: ${rule.SetHeaderValue ?? ''}`);
    }
    if (rule.RouteMessageOutboundConnector) {
      outcome.route = { connector: rule.RouteMessageOutboundConnector, rule: rule.Name };
      actions.push(`RouteMessageOutboundConnector ${rule.RouteMessageOutboundConnector}`);
    }
    if (rule.RejectMessageReasonText || rule.RejectMessageEnhancedStatusCode) {
      const enhanced = rule.RejectMessageEnhancedStatusCode ?? '5.7.1';
      outcome.reject = { rule: rule.Name, reply: { code: 550, enhanced, text: rule.RejectMessageReasonText ?? 'Delivery not authorized, message refused' } };
      actions.push(`Reject ${enhanced}`);
    }
    if (rule.DeleteMessage) {
      outcome.deletedBy = rule.Name;
      actions.push('DeleteMessage');
    }
    outcome.fired.push({ rule: rule.Name, actions });
    if (rule.StopRuleProcessing || outcome.deletedBy || outcome.reject) break;
  }
  return outcome;
}
