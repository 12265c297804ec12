/**
 * The PKI layer's public surface: PEM/DER, parsing, verification (ECDSA, CSRs, chains, CRLs),
 * key agreement, the CA (create, import, back up, restore, store), device certificates,
 * revocation and the external-CA hand-off. See docs/pki.md.
 */
export { PEM_LABELS, decodePem, decodePemAs, decodePemOne, encodePem, toDer } from './pem';
export type { PemBlock, PemError, PemErrorCode, PemLabel } from './pem';

export {
  KEY_USAGE_NAMES,
  certificateFingerprint,
  parseCertificate,
  parseCsr,
  parseSpki,
  spkiFingerprint,
  spkiFromP256Point,
  spkiFromX25519,
  splitCertificateChain,
  toParsedCertificate,
} from './parse';
export type {
  CertificateExtensions,
  CertificateInput,
  KeyUsageName,
  ParseError,
  ParseErrorCode,
  ParsedCertificate,
  ParsedCsr,
  ParsedName,
  PublicKeyInfo,
  SignedStructure,
} from './parse';

export { NAME_ATTRIBUTES, renderSubject } from './name';
export type { NameAttribute, NameAttributeType, SubjectError, SubjectErrorCode, SubjectName } from './name';

export { ECDSA_P256_KEY, ECDSA_SHA256, ecdsaDerToRaw, isP256Point, verifyEcdsaP256, verifyEcdsaP256Der } from './ecdsa';
export type { EcdsaBackend, EcdsaError, EcdsaErrorCode, EcdsaOptions } from './ecdsa';

export { PRIVATE_SCALAR_LENGTH, readPrivateScalar } from './private-key';
export type { PrivateKeyError, PrivateKeyErrorCode, PrivateScalarCurve } from './private-key';

export { ecdhP256, x25519 } from './agree';
export type { AgreeBackend, AgreeError, AgreeErrorCode, AgreeOptions, Agreed } from './agree';

export { verifyChain, verifyCsr } from './verify';
export type { ChainError, ChainErrorCode, CsrError, CsrErrorCode, VerifiedChain, VerifyChainInput } from './verify';

export { issuerChain } from './authority';
export type { CaBackupState, CaOrigin, CertificateAuthority } from './authority';

export { INTERMEDIATE_VALIDITY_YEARS, PROFILES, ROOT_VALIDITY_YEARS, SERIAL_LENGTH } from './profile';
export type { CertificateProfile } from './profile';

export { createCa } from './ca';
export type { CaError, CaErrorCode, CreateCaOptions, CreatedCa } from './ca';

export { MAX_DEVICE_VALIDITY_DAYS, issueDeviceCertificate } from './issue';
export type { DeviceKeySource, IssueDeviceCertificateInput, IssueError, IssueErrorCode, IssuedCertificate } from './issue';

export { CA_BACKUP_FORMAT, MIN_PASSPHRASE_LENGTH, PBKDF2_MIN_ITERATIONS, parseCaBackup, restoreCaBackup, serializeCaBackup } from './backup';
export type { BackupError, BackupErrorCode, CaBackup } from './backup';

export { importCa } from './import-ca';
export type { ImportCaError, ImportCaErrorCode, ImportCaInput, ImportedCa } from './import-ca';

export { PKI_DB_NAME, openCaStore } from './store';
export type { CaStore, CaStoreError, CaStoreErrorCode } from './store';

export { CRL_VALIDITY_DAYS, REVOCATION_REASONS, createCrl, normalizeSerial, parseCrl, revokeCertificate, verifyCrl } from './crl';
export type { CreatedCrl, CrlError, CrlErrorCode, ParsedCrl, Revocation, RevocationReason, RevokeTarget } from './crl';

export { CSR_BATCH_FORMAT, exportCsrBatch, importSignedCertificates, parseCsrBatch } from './external-ca';
export type { CsrBatch, CsrBatchRequest, ExportedCsrBatch, ExternalCaError, ExternalCaErrorCode, ImportReport, MatchedCertificate } from './external-ca';

export type { PkiError } from './errors';
