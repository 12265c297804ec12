/**
 * Writes an unsigned MCUboot image for tests and demos (header, body, SHA-256 TLV), as
 * `imgtool sign` would without a key. The body is deterministic filler.
 *
 *   npm run -s make-image -- OUT.bin [--version 1.2.3.4] [--size BYTES]
 */
import { writeFileSync } from 'node:fs';
import { buildMcubootImage, parseMcubootImage } from '../src/lib/device/mcuboot-image';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const index = args.indexOf(name);
  return index >= 0 && args[index + 1] ? args.splice(index, 2)[1]! : fallback;
};
const versionText = option('--version', '1.0.0');
const size = Number(option('--size', String(64 * 1024)));
const out = args[0];
const parts = versionText.split('.').map(Number);
if (!out || parts.length < 3 || parts.length > 4 || parts.some((part) => !Number.isInteger(part) || part < 0) || !Number.isInteger(size) || size < 0x200 + 40 + 1) {
  console.error('usage: npm run -s make-image -- OUT.bin [--version MAJOR.MINOR.REVISION[.BUILD]] [--size BYTES ≥ 553]');
  process.exit(2);
}
const [major, minor, revision, build = 0] = parts as [number, number, number, number?];
const body = new Uint8Array(size - 0x200 - 40);
for (let i = 0; i < body.length; i++) body[i] = (i * 131 + (i >> 9)) & 0xff;
const image = buildMcubootImage({ version: { major, minor, revision, build }, body });
writeFileSync(out, image);
const info = parseMcubootImage(image);
console.log(JSON.stringify({ file: out, bytes: image.length, version: info.ok ? info.value.versionString : null, hash: info.ok ? info.value.hashHex : null }));
