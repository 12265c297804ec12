/**
 * COSE (RFC 9052/9053) as far as Imprint needs it: COSE_Sign1 decoded strictly (tagged or not,
 * integer header labels, size and depth limits, critical parameters honoured), its
 * Sig_structure, and ECDSA verification (ES256, ES384, ES512) bound to the key's curve.
 * See docs/console.md (COSE section).
 */
export { type CborLimitCode, type CborLimitError, type CborLimits, type CoseCborMap, type CoseCborValue, DEFAULT_CBOR_LIMITS, decodeCoseCbor, isCoseMap, scanCbor } from './cbor';
export { type CoseError, type CoseErrorCode, NOT_SIGN1_CODES } from './errors';
export { COSE_ALG, COSE_HEADER, COSE_SIGN1_TAG, ECDSA_ALGORITHMS, type EcCurve, type EcdsaAlgName, type EcdsaAlgorithm, ecdsaAlgorithmById, ecdsaAlgorithmForCurve, UNDERSTOOD_LABELS } from './ids';
export { CoseVerifyKey } from './key';
export { bodyProtected, type CoseHeaderMap, type CoseLabel, type CoseSign1, decodeCoseSign1, encodeCoseSign1, encodeHeaderMap, type EncodeSign1Input, headerParameter, sigStructure } from './sign1';
export { type CoseBackend, messageAlgorithm, type VerifiedSign1, type VerifySign1Options, verifyCoseSign1 } from './verify';
