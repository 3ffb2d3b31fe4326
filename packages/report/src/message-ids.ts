import { messageIdOf, type TraceEvent } from '@relaylab/core';
import { composeMessage, type MessageSpec, type Scenario } from '@relaylab/lab';

/**
 * The Message-ID a scenario message travelled under. The runner keeps its own map and does not
 * return it, so it is derived the same way the runner composes the message; a message without a
 * Message-ID got one from its submitting node, found by its submitted event.
 */
export function scenarioMessageId(scenario: Scenario, spec: MessageSpec, trace: readonly TraceEvent[]): string | undefined {
  const composed = messageIdOf(composeMessage(spec, scenario.name, new Date(0)));
  if (composed) return composed;
  const sameRecipients = (to: string[]) => to.join(',').toLowerCase() === spec.to.join(',').toLowerCase();
  const submitted = trace.find((e) => e.type === 'submitted' && e.node === spec.via && e.from === spec.from && sameRecipients(e.to));
  return submitted && 'messageId' in submitted ? submitted.messageId : undefined;
}
