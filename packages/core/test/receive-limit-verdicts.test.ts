import { connectionCountRefusal, declaredSizeVerdict, messageSizeVerdict, recipientCountVerdict, sessionCutRefusal, type ReceiveLimits } from '@relaylab/core';

/** docs/exchange.md, "Receive connector limits": what each limit answers, and why it says so. */

const LIMITS: ReceiveLimits = {
  maxMessageBytes: 1000,
  maxRecipientsPerMessage: 2,
  maxInboundConnection: 5,
  maxInboundConnectionPerSource: 3,
  connectionTimeoutMs: 600_000,
  connectionInactivityTimeoutMs: 60_000,
};

describe('receive connector limits as verdicts', () => {
  test.each`
    case                          | verdict                                                                                    | outcome     | reply          | reason
    ${'SIZE= under the limit'}    | ${declaredSizeVerdict(LIMITS, 999)}                                                        | ${'accept'} | ${undefined}   | ${'SIZE=999 is within MaxMessageSize 1000'}
    ${'SIZE= at the limit'}       | ${declaredSizeVerdict(LIMITS, 1000)}                                                       | ${'accept'} | ${undefined}   | ${'SIZE=1000 is within MaxMessageSize 1000'}
    ${'SIZE= over the limit'}     | ${declaredSizeVerdict(LIMITS, 1001)}                                                       | ${'refuse'} | ${'552 5.3.4'} | ${'SIZE=1001 is over MaxMessageSize 1000'}
    ${'DATA at the limit'}        | ${messageSizeVerdict(LIMITS, 1000)}                                                        | ${'accept'} | ${undefined}   | ${'1000 bytes is within MaxMessageSize 1000'}
    ${'DATA over the limit'}      | ${messageSizeVerdict(LIMITS, 1001)}                                                        | ${'refuse'} | ${'552 5.3.4'} | ${'1001 bytes is over MaxMessageSize 1000'}
    ${'first recipient'}          | ${recipientCountVerdict(LIMITS, 0)}                                                        | ${'accept'} | ${undefined}   | ${'recipient 1 of at most 2 (MaxRecipientsPerMessage)'}
    ${'last recipient allowed'}   | ${recipientCountVerdict(LIMITS, 1)}                                                        | ${'accept'} | ${undefined}   | ${'recipient 2 of at most 2 (MaxRecipientsPerMessage)'}
    ${'one recipient too many'}   | ${recipientCountVerdict(LIMITS, 2)}                                                        | ${'refuse'} | ${'452 4.5.3'} | ${'MaxRecipientsPerMessage 2: recipients past it are refused for this transaction, the client sends them in another'}
    ${'too many sessions'}        | ${connectionCountRefusal(LIMITS, 'MaxInboundConnection', 'Default Frontend', '127.0.0.9')} | ${'refuse'} | ${'421 4.3.2'} | ${'MaxInboundConnection 5 on receive connector Default Frontend: 5 sessions are open already'}
    ${'too many from one source'} | ${connectionCountRefusal(LIMITS, 'MaxInboundConnectionPerSource', '', '127.0.0.9')}        | ${'refuse'} | ${'421 4.3.2'} | ${'MaxInboundConnectionPerSource 3: 3 sessions from 127.0.0.9 are open already'}
    ${'session too long'}         | ${sessionCutRefusal('ConnectionTimeout', 600_000, 'Relay')}                                | ${'refuse'} | ${'421 4.4.1'} | ${'ConnectionTimeout 600000 ms on receive connector Relay: the session was cut'}
    ${'client silent too long'}   | ${sessionCutRefusal('ConnectionInactivityTimeout', 60_000, undefined)}                     | ${'refuse'} | ${'421 4.4.1'} | ${'ConnectionInactivityTimeout 60000 ms: the session was cut'}
  `('$case → $outcome $reply', ({ verdict, outcome, reply, reason }) => {
    expect(verdict.outcome).toBe(outcome);
    expect(verdict.reply && `${verdict.reply.code} ${verdict.reply.enhanced}`).toBe(reply);
    expect(verdict.reason).toBe(reason);
  });
});
