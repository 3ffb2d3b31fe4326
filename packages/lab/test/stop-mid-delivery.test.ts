import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MemoryTrace, type TraceEvent } from '@relaylab/core';
import { Lab, loadTopologyFile } from '@relaylab/lab';

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-stopmid-'));
const topology = loadTopologyFile(resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml'));

/** A trace that calls back on each event, as a subscriber of the live trace does. */
class HookedTrace extends MemoryTrace {
  onEvent?: (e: TraceEvent) => void;
  override emit(event: TraceEvent): void {
    super.emit(event);
    this.onEvent?.(event);
  }
}

const raw = (id: string) =>
  Buffer.from(`From: tom@tailspin.example\r\nTo: alice@contoso.example\r\nMessage-ID: <${id}@tailspin.example>\r\nSubject: ${id}\r\n\r\nhello\r\n`);

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'timed out'> =>
  Promise.race([p, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms).unref())]);

const spooled = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'));

// tailspin → eop → onprem: eop's pooled connection waits for onprem's 250 when the lab is stopped.
test.each(['received', 'delivered'] as const)(
  'stop() when the last hop fires %s: stop returns and the message is delivered or still spooled',
  async (trigger) => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'relaylab-stopmid-spool-'));
    const trace = new HookedTrace();
    const lab = await Lab.start(topology, { certsDir, spoolDir, trace });
    let stopping: Promise<void> | undefined;
    trace.onEvent = (e) => {
      if (stopping || e.type !== trigger || e.node !== 'onprem') return;
      stopping = lab.stop();
    };
    const id = `stop-${trigger}`;
    lab.submit('tailspin', { from: 'tom@tailspin.example', to: ['alice@contoso.example'], raw: raw(id) });
    const deadline = Date.now() + 10_000;
    while (!stopping && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(stopping).toBeDefined();
    expect(await within(stopping!, 5_000)).toBeUndefined();

    // Nothing lost: in alice's mailbox, or in the spool of a hop for the next start.
    const inMailbox = lab.node('onprem').mailboxes.get('alice@contoso.example').length;
    const inSpools = ['tailspin', 'eop', 'onprem'].flatMap((n) => spooled(join(spoolDir, n)));
    expect(inMailbox + inSpools.length).toBeGreaterThan(0);
  },
  20_000,
);
