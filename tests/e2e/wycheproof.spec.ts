// Wycheproof (../shared/vectors/wycheproof/) through the PKI layer in Chromium: the browser's own
// WebCrypto and the @noble fallback, as the app uses them. The same vectors run in Node in
// tests/unit/pki-wycheproof.test.ts. Every valid case accepted, every invalid one rejected.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, test } from './support/fixtures';

const VECTORS = new URL('../../../shared/vectors/wycheproof/', import.meta.url);
const available = existsSync(new URL('ecdsa_secp256r1_sha256_p1363_test.json', VECTORS));
/** Served by page.route; localhost makes it a secure context, so WebCrypto is there. */
const ORIGIN = 'http://localhost:9';
let harness = '';

test.beforeAll(async () => {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/wycheproof-harness.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  harness = bundled.outputFiles[0]!.text;
});

const CASES = [
  ['ecdsa_secp256r1_sha256_p1363_test.json', 'ecdsa-p1363'],
  ['ecdsa_secp256r1_sha256_test.json', 'ecdsa-der'],
  ['ecdh_secp256r1_ecpoint_test.json', 'ecdh-p256'],
  ['x25519_test.json', 'x25519'],
] as const;

for (const backend of ['webcrypto', 'noble'] as const) {
  test(`Wycheproof in Chromium through the ${backend} path`, async ({ page }) => {
    test.skip(!available, `Wycheproof vectors not found at ${fileURLToPath(VECTORS)}`);
    await page.route(`${ORIGIN}/**`, (route) =>
      route.request().url().endsWith('.js')
        ? route.fulfill({ contentType: 'text/javascript', body: harness })
        : route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>wycheproof</title><script type="module" src="/harness.js"></script>' }),
    );
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'wycheproof' in window);
    const counts: string[] = [];
    for (const [file, kind] of CASES) {
      const vectors = JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8'));
      const tally = await page.evaluate(
        ([kind, backend, vectors]) => (window as unknown as { wycheproof: (k: string, b: string, f: unknown) => Promise<{ total: number; valid: number; invalid: number; acceptable: number; acceptableAccepted: number; wrong: string[] }> }).wycheproof(kind, backend, vectors),
        [kind, backend, vectors] as const,
      );
      expect(tally.total, file).toBe(vectors.numberOfTests);
      expect(tally.wrong, `${file} [${backend}]`).toEqual([]);
      counts.push(`${file}: valid ${tally.valid}, invalid ${tally.invalid}, acceptable ${tally.acceptable} (accepted ${tally.acceptableAccepted})`);
    }
    test.info().annotations.push({ type: `wycheproof ${backend}`, description: counts.join('; ') });
    console.log(`Wycheproof in Chromium [${backend}]\n  ${counts.join('\n  ')}`);
  });
}
