/** The Field page's certificate verdict, with real CAs and certificates made by the pki layer. */
import { p256 } from '@noble/curves/nist.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertificateAuthority, createCa, issueDeviceCertificate, spkiFromP256Point } from '../../src/lib/pki';
import { chainVerdict, type TrustAnchor } from '../../src/lib/state/chain-verdict';

let factory: CertificateAuthority;
let other: CertificateAuthority;
let chain: Uint8Array[];
let spki: Uint8Array;

async function made(label: string): Promise<CertificateAuthority> {
  const created = await createCa({ label, organization: label });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.ca;
}

const anchor = (ca: CertificateAuthority): TrustAnchor => ({ label: ca.label, root: ca.root.certificate });

beforeAll(async () => {
  [factory, other] = await Promise.all([made('Factory'), made('Elsewhere')]);
  const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
  spki = spkiFromP256Point(point);
  const issued = await issueDeviceCertificate({ ca: factory, publicKey: point, proofOfPossession: 'checked-by-caller', subjectTemplate: 'CN={deviceId}', subjectValues: { deviceId: 'dev-1' }, validityDays: 30 });
  if (!issued.ok) throw new Error(issued.error.message);
  chain = [issued.value.der, ...issued.value.chain];
});

describe('chainVerdict', () => {
  it('passes a chain to any CA the station holds, naming it', async () => {
    const verdict = await chainVerdict(chain, spki, [anchor(other), anchor(factory)], new Date());
    expect(verdict).toMatchObject({ ok: true, code: 'verified', anchor: 'Factory' });
    expect(verdict.text).toMatch(/^Verifies to CN=Factory Root CA.* \(CA “Factory”\); valid until \d{4}-\d{2}-\d{2}\.$/);
  });

  it('says when the issuer is not a CA the station holds', async () => {
    const verdict = await chainVerdict(chain, spki, [anchor(other)], new Date());
    expect(verdict).toMatchObject({ ok: false, code: 'unknown-issuer' });
    expect(verdict.text).toContain("the chain ends at 'CN=Factory Root CA");
  });

  it('reports why a chain that reaches our root fails (expired), over the roots it does not reach', async () => {
    const later = new Date(Date.now() + 40 * 86_400_000);
    const verdict = await chainVerdict(chain, spki, [anchor(other), anchor(factory)], later);
    expect(verdict).toMatchObject({ ok: false, code: 'invalid' });
    expect(verdict.text).toMatch(/^Does not verify: leaf 'CN=dev-1' expired on /);
  });

  it('refuses a certificate for another key than the board reports', async () => {
    const stranger = spkiFromP256Point(p256.getPublicKey(p256.utils.randomSecretKey(), false));
    expect(await chainVerdict(chain, stranger, [anchor(factory)], new Date())).toMatchObject({ ok: false, code: 'wrong-key' });
  });

  it('says what is missing: a certificate, or any CA', async () => {
    expect(await chainVerdict([], spki, [anchor(factory)], new Date())).toMatchObject({ ok: false, code: 'no-certificate' });
    expect(await chainVerdict(chain, spki, [], new Date())).toMatchObject({ ok: false, code: 'no-ca' });
  });
});
