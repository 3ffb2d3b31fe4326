export * from './node';
export { MailboxStore, type StoredMessage } from './mailbox';
export { socketOf, openConnection, sendMessage, type OpenConnection } from './client-adapter';
export { peerChain } from './tls-socket';
export { zoneOf, type Zone } from './dns-zone';
export { TopologyDnsServer, type TopologyDnsServerOptions } from './dns-server';
export { NetworkResolver, parseServer } from './dns-resolver';
