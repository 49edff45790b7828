/** What both roles encode of X.509: CSR creation, SANs, signature algorithms, DER. */
export { createCsr } from './csr.js';
export { generalNames, signatureAlgorithmFor, type SignatureAlgorithm, type SubjectAltNames } from './x509-names.js';
export { PkiError, type PkiErrorCode } from './errors.js';
