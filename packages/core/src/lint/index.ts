import type { LintAcceptance } from '../model';
import { certificateExpiry, certificateUntrusted, inboundCertificateName, sendConnectorCertificateName } from './certificates';
import type { LintFinding, LintInput } from './finding';
import { acceptedDomainUnserved, centralizedWithoutInternetConnector, mxDisagrees } from './mail-routing';
import { deviceInHybridPath } from './smtp-device';
import { hybridReceiveAnyTenant, originatorRuleSideEffects } from './tenant-rule';
import { requireTlsVerifiesNothing, tlsDomainIgnored, tlsDomainMissing, tlsDomainUnmatchable } from './tls-settings';
import { TopologyView, type LintCheck } from './view';

export * from './finding';
export { TopologyView, type LintCheck } from './view';

/** Every check, in the order findings are reported. */
export const LINT_CHECKS: readonly LintCheck[] = [
  inboundCertificateName,
  sendConnectorCertificateName,
  certificateExpiry,
  certificateUntrusted,
  tlsDomainUnmatchable,
  tlsDomainMissing,
  tlsDomainIgnored,
  requireTlsVerifiesNothing,
  deviceInHybridPath,
  hybridReceiveAnyTenant,
  originatorRuleSideEffects,
  centralizedWithoutInternetConnector,
  acceptedDomainUnserved,
  mxDisagrees,
];

export interface LintResult {
  findings: LintFinding[];
  /** Findings the topology declares intended (`lint.accept`), with the reason it gives. */
  accepted: Array<{ finding: LintFinding; because: string }>;
  /** `lint.accept` entries that matched nothing: a fixed pitfall or a typo, either way worth saying. */
  unusedAcceptances: LintAcceptance[];
}

const matches = (a: LintAcceptance, f: LintFinding) =>
  a.check === f.check && (a.node === undefined || a.node === f.node) && (a.connector === undefined || a.connector === f.connector);

export function lintTopology(input: LintInput): LintResult {
  const view = new TopologyView(input);
  const all = LINT_CHECKS.flatMap((check) => check(view));
  const acceptances = input.topology.lint?.accept ?? [];
  const result: LintResult = { findings: [], accepted: [], unusedAcceptances: [] };
  const used = new Set<LintAcceptance>();
  for (const finding of all) {
    const a = acceptances.find((x) => matches(x, finding));
    if (a) {
      used.add(a);
      result.accepted.push({ finding, because: a.because });
    } else {
      result.findings.push(finding);
    }
  }
  result.unusedAcceptances = acceptances.filter((a) => !used.has(a));
  return result;
}
