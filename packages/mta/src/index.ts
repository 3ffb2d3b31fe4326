export * from './node';
export { MailboxStore, type StoredMessage } from './mailbox';
export { socketOf, openConnection, sendMessage, type OpenConnection } from './client-adapter';
export { peerChain } from './tls-socket';
