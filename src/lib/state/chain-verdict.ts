/**
 * The verdict on a certificate chain a board holds for one of its keys, judged against every CA
 * this station holds (not only the active one: a tablet checks boards made under older CAs too).
 * The chain passes when it verifies to one of their roots (signatures, names, validity, CA flags;
 * pki `verifyChain`) and its leaf certifies the key the board reports. Otherwise the verdict says
 * why, preferring the failure of a chain that did reach one of our roots (expired, bad signature)
 * over "issued by a CA we do not hold".
 */
import { type ChainError, parseCertificate, verifyChain } from '../pki';
import { equalBytes } from '../util/bytes';

export interface TrustAnchor {
  /** The CA's name as the CA page shows it. */
  label: string;
  /** Its root certificate (DER). */
  root: Uint8Array;
}

export type ChainVerdictCode = 'verified' | 'no-certificate' | 'no-ca' | 'unknown-issuer' | 'wrong-key' | 'invalid';

export interface ChainVerdict {
  ok: boolean;
  code: ChainVerdictCode;
  /** One sentence for the operator. */
  text: string;
  /** The CA the chain verified to. */
  anchor?: string;
}

/**
 * @example await chainVerdict([deviceDer, issuingDer], spki, [{ label: 'Acme Devices', root }], new Date())
 *   // { ok: true, code: 'verified', anchor: 'Acme Devices', text: 'Verifies to Acme Devices Root CA (CA “Acme Devices”); valid until 2035-01-01.' }
 */
export async function chainVerdict(chain: readonly Uint8Array[], spki: Uint8Array | null, anchors: readonly TrustAnchor[], at: Date): Promise<ChainVerdict> {
  if (chain.length === 0) return { ok: false, code: 'no-certificate', text: 'The board holds no certificate for this key.' };
  if (anchors.length === 0) return { ok: false, code: 'no-ca', text: 'This station holds no CA to check against: create or import one on the CA page.' };
  const failures: ChainError[] = [];
  for (const anchor of anchors) {
    const verified = await verifyChain({ chain, root: anchor.root, at });
    if (!verified.ok) {
      failures.push(verified.error);
      continue;
    }
    const leaf = verified.value.path[0]!;
    if (spki && !equalBytes(leaf.publicKey.spki, spki)) return { ok: false, code: 'wrong-key', text: `The chain verifies to ${anchor.label}, but its certificate is for another key than the one the board reports.` };
    const root = verified.value.path.at(-1)!;
    return { ok: true, code: 'verified', anchor: anchor.label, text: `Verifies to ${root.subject.text} (CA “${anchor.label}”); valid until ${verified.value.validUntil.toISOString().slice(0, 10)}.` };
  }
  const reached = failures.find((failure) => failure.code !== 'chain-unknown-root');
  if (reached) return { ok: false, code: 'invalid', text: `Does not verify: ${reached.message}.` };
  return { ok: false, code: 'unknown-issuer', text: `Not issued by a CA this station holds: the chain ends at ${topIssuer(chain)}.` };
}

/** The issuer named by the last certificate of the chain, quoted. */
function topIssuer(chain: readonly Uint8Array[]): string {
  const parsed = parseCertificate(chain.at(-1)!);
  return parsed.ok ? `'${parsed.value.issuer.text}'` : 'a certificate that cannot be read';
}
