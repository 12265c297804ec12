/**
 * The board's COSE_Sign1 answer to `sign` with `fmt: "cose"` (docs/protocol/keys-group.md §5.9):
 * protected header `{1: alg}` (ES256 for p256, EdDSA for ed25519), an empty unprotected header,
 * `msg` as the payload, tag 18. What firmware would build with t_cose around PSA's sign call.
 */
// The message layer only (sign1.ts, ids.ts): the simulated board needs no verifier and no PKI.
import { COSE_HEADER } from '../../cose/ids';
import { encodeCoseSign1, encodeHeaderMap, sigStructure } from '../../cose/sign1';
import { SIGN_COSE_ALG, type KeyAlg } from '../../device/keys-ids';
import { algorithmOps } from './crypto';

/** The tagged COSE_Sign1 over `msg`, or null when the key's algorithm has no COSE signature here. */
export function coseSign1(alg: KeyAlg, secret: Uint8Array, msg: Uint8Array): Uint8Array | null {
  const coseAlg = SIGN_COSE_ALG[alg];
  if (coseAlg === undefined) return null;
  const protectedBytes = encodeHeaderMap(new Map([[COSE_HEADER.ALG, coseAlg]]));
  const signature = algorithmOps(alg).sign(secret, sigStructure(protectedBytes, new Uint8Array(0), msg));
  return signature ? encodeCoseSign1({ protectedBytes, payload: msg, signature }) : null;
}
