import { resolve } from 'node:path';
import { useLab } from '@relaylab/jest';

const topologies = resolve(__dirname, '../../../scenarios/topologies');

/** What a failing matcher printed, without colours. */
function failure(check: () => void): string {
  try {
    check();
  } catch (e) {
    return (e as Error).message.replace(/\u001b\[[0-9;]*m/g, '');
  }
  throw new Error('the matcher passed; it should have failed');
}

describe('a partner sending over forced TLS', () => {
  const lab = useLab(resolve(topologies, 'partner-tls.yaml'));

  test('the right certificate is delivered over verified TLS, headers intact', async () => {
    const sent = lab.send({
      from: 'alice@fabrikam.example',
      to: ['bob@contoso.example'],
      via: 'fabrikam',
      subject: 'Quarterly numbers',
      headers: { 'X-Lab-Case': 'good-cert' },
    });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).toBeDeliveredTo('bob@contoso.example');
    expect(fate).toHaveTraveled(['fabrikam', 'eop']);
    expect(fate).toHaveHopTls('fabrikam', 'eop', 'TLSv1.3');
    expect(fate).toHaveHopTls('fabrikam', 'eop', { tls: 'TLSv1.3', certificateVerified: true });
    expect(fate).toBeClassifiedAs('Partner');
    expect(fate).toKeepHeadersIntact(['Subject', 'X-Lab-Case', 'From']);
    // a header the sender never wrote is not "intact": the matcher must not pass on a typo
    expect(failure(() => expect(fate).toKeepHeadersIntact(['Subject', 'X-Lab-Cas']))).toMatch(
      /Expected: \["X-Lab-Cas"\] to be headers the sender submitted\nReceived: the submitted message has no such header/,
    );
    expect(failure(() => expect(fate).toHaveTraveled(['fabrikam', 'onprem']))).toMatch(/- Expected[^]*\+ Received[^]*-   "onprem"[^]*\+   "eop"[^]*trace of /);
  });

  test('another certificate is refused, and a failing matcher prints the trace', async () => {
    const sent = lab.send({ from: 'carol@fabrikam.example', to: ['bob@contoso.example'], via: 'fabrikam-other' });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).not.toBeDeliveredTo('bob@contoso.example');
    expect(failure(() => expect(fate).toBeDeliveredTo('bob@contoso.example'))).toMatch(
      /expect\(fate\)\.toBeDeliveredTo\(mailbox\)\n\nExpected: "delivered to bob@contoso\.example"\nReceived: "rejected: 550 5\.7\.51[^]*\n\ntrace of [^]*final: rejected at eop: 550 5\.7\.51/,
    );
    expect(failure(() => expect(fate).toHaveHopTls('fabrikam-other', 'eop', 'TLSv1.3'))).toMatch(
      /Expected: a hop fabrikam-other → eop\nReceived: hops \(none\)[^]*fabrikam-other → contoso-example\.mail\.protection\.outlook\.example/,
    );
    expect(failure(() => expect(fate).toKeepHeadersIntact(['Subject']))).toMatch(/Received: it was rejected, not delivered/);
  });

  test('a node that is not Exchange has no classification, and the matcher says so', async () => {
    const sent = lab.send({ from: 'bob@contoso.example', to: ['alice@fabrikam.example'], via: 'eop' });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).toHaveTraveled(['eop', 'fabrikam']);
    expect(failure(() => expect(fate).toBeClassifiedAs('Anonymous'))).toMatch(
      /Expected: AuthAs "Anonymous" at fabrikam\nReceived: the trace records no classification there/,
    );
  });
});

describe('on premises to Exchange Online', () => {
  const lab = useLab(resolve(topologies, 'onprem-hybrid.yaml'));

  test('the hybrid hop is classified Internal in the cloud, and a wrong expectation names the actual value', async () => {
    const sent = lab.send({ from: 'alice@contoso.example', to: ['carol@contoso.mail.onmicrosoft.example'], via: 'onprem' });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).toHaveTraveled(['onprem', 'eop']);
    expect(fate).toHaveHopTls('onprem', 'eop', { tls: 'TLSv1.3', certificateVerified: true, certificateName: 'mail.protection.outlook.example' });
    expect(fate).toBeClassifiedAs('Internal', 'eop');
    expect(fate).toBeClassifiedAs('Internal', 'onprem');
    expect(failure(() => expect(fate).toBeClassifiedAs('Anonymous', 'eop'))).toMatch(
      /At: eop\nExpected: "Anonymous"\nReceived: "Internal"[^]*path: onprem → eop/,
    );
    expect(failure(() => expect(fate).toHaveHopTls('onprem', 'eop', { tls: 'TLSv1.2' }))).toMatch(
      /Hop: onprem → eop\nExpected: \{"tls": "TLSv1\.2"\}\nReceived: \{"tls": "TLSv1\.3"\}\n  tls: expected TLSv1\.2, was TLSv1\.3/,
    );
  });
});
