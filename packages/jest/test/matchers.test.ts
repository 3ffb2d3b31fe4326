import { resolve } from 'node:path';
import { useLab } from '@relaylab/jest';

const topologies = resolve(__dirname, '../../../scenarios/topologies');

describe('a partner sending over forced TLS', () => {
  const lab = useLab(resolve(topologies, 'partner-tls.yaml'));

  test('the right certificate is delivered over verified TLS, headers intact', async () => {
    const sent = lab.send({ from: 'alice@fabrikam.example', to: ['bob@contoso.example'], via: 'fabrikam', subject: 'Quarterly numbers', headers: { 'X-Lab-Case': 'good-cert' } });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).toBeDeliveredTo('bob@contoso.example');
    expect(fate).toHaveTraveled(['fabrikam', 'eop']);
    expect(fate).toHaveHopTls('fabrikam', 'eop', 'TLSv1.3');
    expect(fate).toHaveHopTls('fabrikam', 'eop', { tls: 'TLSv1.3', certificateVerified: true });
    expect(fate).toBeClassifiedAs('Partner');
    expect(fate).toKeepHeadersIntact(['Subject', 'X-Lab-Case', 'From']);
  });

  test('another certificate is refused, and a failing matcher prints the trace', async () => {
    const sent = lab.send({ from: 'carol@fabrikam.example', to: ['bob@contoso.example'], via: 'fabrikam-other' });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).not.toBeDeliveredTo('bob@contoso.example');
    expect(() => expect(fate).toBeDeliveredTo('bob@contoso.example')).toThrow(/delivered to bob@contoso\.example; was rejected: 550 5\.7\.51[^]*final: rejected at eop: 550 5\.7\.51/);
    expect(() => expect(fate).toHaveHopTls('fabrikam-other', 'eop', 'TLSv1.3')).toThrow(/a hop fabrikam-other → eop; hops were \(none\)[^]*fabrikam-other → contoso-example\.mail\.protection\.outlook\.example/);
    expect(() => expect(fate).toKeepHeadersIntact(['Subject'])).toThrow(/it was rejected, not delivered/);
  });

  test('a node that is not Exchange has no classification, and the matcher says so', async () => {
    const sent = lab.send({ from: 'bob@contoso.example', to: ['alice@fabrikam.example'], via: 'eop' });
    await lab.settle();
    const fate = lab.fate(sent);
    expect(fate).toHaveTraveled(['eop', 'fabrikam']);
    expect(() => expect(fate).toBeClassifiedAs('Anonymous')).toThrow(/AuthAs Anonymous at fabrikam; the trace records no classification there/);
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
    expect(() => expect(fate).toBeClassifiedAs('Anonymous', 'eop')).toThrow(/AuthAs Anonymous at eop; was Internal[^]*path: onprem → eop/);
    expect(() => expect(fate).toHaveHopTls('onprem', 'eop', { tls: 'TLSv1.2' })).toThrow(/onprem → eop with tls TLSv1\.2 \(was TLSv1\.3\)/);
  });
});
