import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkChain, matchInboundConnector, type InboundConnector, type SessionFacts, type TrustStore } from '@relaylab/core';
import { Pki, pemToDer, trustStoreFor, type LabCertificates } from '@relaylab/pki';

/**
 * TlsSenderCertificateName as Get-InboundConnector prints it may be `<I>issuer<S>subject`
 * (docs/exchange.md, "What administrators export"): pasted so, it must match the certificate it
 * names, not silently nothing.
 */

let dir: string;
let lab: LabCertificates;
let trust: TrustStore;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-cert-name-forms-'));
  lab = await new Pki({ dir }).forTopology({
    authorities: { public: { commonName: 'Relaylab Public Root CA' }, other: { commonName: 'Another Public CA' } },
    certificates: {
      onprem: { subject: 'mail.contoso.example', issuer: 'public' },
      otherIssuer: { subject: 'mail.contoso.example', issuer: 'other' },
    },
    nodes: {},
  });
  trust = await trustStoreFor(lab);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function presenting(cert: string): SessionFacts {
  const der = pemToDer(lab.certificates.get(cert)!.certPem);
  return {
    clientIp: '127.0.0.10',
    localIp: '127.0.0.20',
    localPort: 25,
    ehlo: 'mail.contoso.example',
    secure: true,
    clientCertificate: checkChain([der], trust, new Date()),
  };
}

const onPremises = (name: string): InboundConnector => ({ Name: 'Inbound from on-premises', ConnectorType: 'OnPremises', TlsSenderCertificateName: name });

test.each([
  ['mail.contoso.example', 'onprem', 'Inbound from on-premises'],
  ['<I>CN=Relaylab Public Root CA<S>CN=mail.contoso.example', 'onprem', 'Inbound from on-premises'],
  ['<I>CN=Relaylab Public Root CA, O=Relaylab<S>CN=mail.contoso.example, O=Contoso, C=US', 'onprem', 'Inbound from on-premises'],
  ['<I>CN=Relaylab Public Root CA<S>CN=mail.contoso.example', 'otherIssuer', undefined],
  ['<I>CN=Relaylab Public Root CA<S>CN=mail.fabrikam.example', 'onprem', undefined],
])('TlsSenderCertificateName %s with the %s certificate → %s', (name, cert, connector) => {
  expect(matchInboundConnector([onPremises(name)], presenting(cert), 'contoso.example').connector).toBe(connector);
});
