export * from './received-chain';
export * from './antispam-report';
export * from './stamps';
export * from './explain';
export * from './replay';
