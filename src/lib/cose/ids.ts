/**
 * COSE numbers Imprint uses, named as the IANA "COSE Header Parameters" and "COSE Algorithms"
 * registries name them (RFC 9052 §3.1, RFC 9053 §2.1), and the table of ECDSA algorithms as data:
 * one row per algorithm, so verification never branches on names.
 */

/** CBOR tag of a tagged COSE_Sign1 (RFC 9052 §2, Table 1). */
export const COSE_SIGN1_TAG = 18;

/** Header parameter labels (RFC 9052 §3.1, Table 3). */
export const COSE_HEADER = {
  ALG: 1,
  CRIT: 2,
  CONTENT_TYPE: 3,
  KID: 4,
  IV: 5,
  PARTIAL_IV: 6,
} as const;

/**
 * Labels whose meaning this verifier applies, so a `crit` naming them is satisfied (RFC 9052 §3.1:
 * a recipient that does not understand a critical parameter must refuse the message).
 */
export const UNDERSTOOD_LABELS: ReadonlySet<number | string> = new Set([COSE_HEADER.ALG, COSE_HEADER.CRIT, COSE_HEADER.CONTENT_TYPE, COSE_HEADER.KID]);

/** Algorithm ids (RFC 9053 §2.1 ECDSA, RFC 9053 §2.2 EdDSA). */
export const COSE_ALG = {
  ES256: -7,
  ES384: -35,
  ES512: -36,
  EdDSA: -8,
} as const;

export type EcCurve = 'P-256' | 'P-384' | 'P-521';
export type EcdsaAlgName = 'ES256' | 'ES384' | 'ES512';

export interface EcdsaAlgorithm {
  name: EcdsaAlgName;
  id: number;
  /** The curve the key must be on: RFC 9053 §2.1 pairs each algorithm with one curve in practice, and so does our policy. */
  curve: EcCurve;
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** Bytes of one coordinate; the signature is r ‖ s, twice this. */
  fieldBytes: number;
}

export const ECDSA_ALGORITHMS: readonly EcdsaAlgorithm[] = [
  { name: 'ES256', id: COSE_ALG.ES256, curve: 'P-256', hash: 'SHA-256', fieldBytes: 32 },
  { name: 'ES384', id: COSE_ALG.ES384, curve: 'P-384', hash: 'SHA-384', fieldBytes: 48 },
  { name: 'ES512', id: COSE_ALG.ES512, curve: 'P-521', hash: 'SHA-512', fieldBytes: 66 },
];

export function ecdsaAlgorithmById(id: number): EcdsaAlgorithm | undefined {
  return ECDSA_ALGORITHMS.find((alg) => alg.id === id);
}

/** The algorithm a key on `curve` signs with: a registered P-256 key means ES256 and nothing else. */
export function ecdsaAlgorithmForCurve(curve: EcCurve): EcdsaAlgorithm {
  return ECDSA_ALGORITHMS.find((alg) => alg.curve === curve)!;
}

/** Sig_structure context string for COSE_Sign1 (RFC 9052 §4.4). */
export const SIGNATURE1_CONTEXT = 'Signature1';
