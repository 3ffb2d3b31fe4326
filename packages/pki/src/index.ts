export * from './pki';
export { pemToDer, pemBlocks, certificateOf } from './pem';
export { createCrl, loadCrl } from './crl';
