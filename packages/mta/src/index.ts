export { MailNode, type Directory, type MailNodeOptions, type NodeMaterial } from './node';
export type { Submission } from './intake';
export type { ListenerTimeouts } from './listener';
export { MailboxStore, type StoredMessage } from './mailbox';
// What the lab needs to break and restart nodes.
export { NodeFaults, type FaultCommand } from './faults';
export { StripStartTlsProxy, stripStartTlsLine } from './proxy';
export { TcpPassThrough, type PassThroughOptions } from './passthrough';
export { Spool, type SpooledItem, type SpoolProblem } from './spool';
export { sweepTempFiles, syncDirAsync, writeFileAtomic, writeFileAtomicAsync } from './atomic-files';
export { settleable } from './settleable';
export { composeDsn, statusOf } from './dsn';
export { socketOf, openConnection, sendMessage, type OpenConnection } from './client-adapter';
export { peerChain } from './tls-socket';
export { zoneOf, type Zone } from './dns-zone';
export { TopologyDnsServer, type TopologyDnsServerOptions } from './dns-server';
export { NetworkResolver, parseServer } from './dns-resolver';
