/**
 * MCUboot image files: parse and check one before it goes to a board, and build one (for tests,
 * benchmarks and firmware teams' fixtures). Format: MCUboot `docs/design.md` "Image format",
 * `bootutil/image.h`. All fields little-endian.
 *
 *   header (32 bytes, padded to ih_hdr_size) | body (ih_img_size) | [protected TLVs] | TLVs
 *   TLV area: info {magic u16, total u16} then entries {type u16, len u16, value}
 *   The SHA-256 TLV (0x10) covers header + padding + body + protected TLVs.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex, equalBytes } from '../util/bytes';

export const IMAGE_MAGIC = 0x96f3b83d;
export const IMAGE_HEADER_SIZE = 32;
export const IMAGE_TLV_INFO_MAGIC = 0x6907;
export const IMAGE_TLV_PROT_INFO_MAGIC = 0x6908;
export const IMAGE_TLV_SHA256 = 0x10;
/** `IMAGE_F_NON_BOOTABLE` in bootutil/image.h. */
export const IMAGE_F_NON_BOOTABLE = 0x10;

export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

export interface McubootImageInfo {
  version: ImageVersion;
  /** As Zephyr's img_mgmt prints it: major.minor.revision, plus .build when build is not 0. */
  versionString: string;
  loadAddress: number;
  headerSize: number;
  imageSize: number;
  protectedTlvSize: number;
  flags: number;
  /** The SHA-256 TLV: what a board reports as the slot's hash. */
  hash: Uint8Array;
  hashHex: string;
  tlvs: { type: number; length: number; protected: boolean }[];
  /** Bytes up to the end of the TLV area; anything after it is padding the board ignores. */
  usedSize: number;
}

export type ImageFileErrorCode = 'image-too-short' | 'image-bad-magic' | 'image-bad-header' | 'image-bad-tlv' | 'image-no-hash' | 'image-hash-mismatch';
export interface ImageFileError {
  code: ImageFileErrorCode;
  message: string;
}

export function formatImageVersion(version: ImageVersion): string {
  const base = `${version.major}.${version.minor}.${version.revision}`;
  return version.build === 0 ? base : `${base}.${version.build}`;
}

/**
 * Checks that `bytes` is an MCUboot image with a hash TLV that matches its contents.
 * @example const info = parseMcubootImage(file); if (!info.ok) show(info.error.message);
 */
export function parseMcubootImage(bytes: Uint8Array): Result<McubootImageInfo, ImageFileError> {
  const fail = (code: ImageFileErrorCode, message: string) => err({ code, message });
  if (bytes.length < IMAGE_HEADER_SIZE) return fail('image-too-short', `this file has ${bytes.length} bytes; an MCUboot image starts with a 32-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== IMAGE_MAGIC) {
    return fail('image-bad-magic', `not an MCUboot image: it starts with 0x${magic.toString(16).padStart(8, '0')}, not the magic 0x96f3b83d (was it signed with imgtool or built with CONFIG_BOOTLOADER_MCUBOOT?)`);
  }
  const loadAddress = view.getUint32(4, true);
  const headerSize = view.getUint16(8, true);
  const protectedTlvSize = view.getUint16(10, true);
  const imageSize = view.getUint32(12, true);
  const flags = view.getUint32(16, true);
  const version = { major: bytes[20]!, minor: bytes[21]!, revision: view.getUint16(22, true), build: view.getUint32(24, true) };
  if (headerSize < IMAGE_HEADER_SIZE) return fail('image-bad-header', `header size ${headerSize} is smaller than the 32-byte header`);
  const tlvStart = headerSize + imageSize;
  if (tlvStart > bytes.length) return fail('image-too-short', `the header promises ${imageSize} bytes of image after a ${headerSize}-byte header, but the file ends at ${bytes.length}`);

  const tlvs: McubootImageInfo['tlvs'] = [];
  let offset = tlvStart;
  if (protectedTlvSize > 0) {
    const area = readTlvArea(view, offset, IMAGE_TLV_PROT_INFO_MAGIC, true, tlvs);
    if (!area.ok) return area;
    if (area.value - offset !== protectedTlvSize) return fail('image-bad-tlv', `protected TLV area is ${area.value - offset} bytes, the header says ${protectedTlvSize}`);
    offset = area.value;
  }
  const area = readTlvArea(view, offset, IMAGE_TLV_INFO_MAGIC, false, tlvs);
  if (!area.ok) return area;
  const hashes = tlvs.filter((tlv) => tlv.type === IMAGE_TLV_SHA256 && !tlv.protected);
  if (hashes.length !== 1) return fail('image-no-hash', hashes.length === 0 ? 'the image has no SHA-256 TLV; MCUboot and the board need one' : 'the image has more than one SHA-256 TLV');
  const hashTlvOffset = findTlvValue(view, offset, IMAGE_TLV_SHA256)!;
  const hash = bytes.slice(hashTlvOffset, hashTlvOffset + 32);
  const computed = sha256(bytes.subarray(0, tlvStart + protectedTlvSize));
  if (!equalBytes(hash, computed)) return fail('image-hash-mismatch', `the image's SHA-256 TLV (${bytesToHex(hash).slice(0, 16)}…) does not match its contents (${bytesToHex(computed).slice(0, 16)}…): the file is damaged`);
  return ok({
    version,
    versionString: formatImageVersion(version),
    loadAddress,
    headerSize,
    imageSize,
    protectedTlvSize,
    flags,
    hash,
    hashHex: bytesToHex(hash),
    tlvs,
    usedSize: area.value,
  });
}

/** Walks one TLV area; returns the offset just after it. */
function readTlvArea(view: DataView, start: number, magic: number, isProtected: boolean, out: McubootImageInfo['tlvs']): Result<number, ImageFileError> {
  if (start + 4 > view.byteLength) return err({ code: 'image-bad-tlv', message: 'the file ends where the TLV area should start' });
  const foundMagic = view.getUint16(start, true);
  if (foundMagic !== magic) {
    return err({ code: 'image-bad-tlv', message: `expected TLV info magic 0x${magic.toString(16)} at offset ${start}, found 0x${foundMagic.toString(16)}` });
  }
  const total = view.getUint16(start + 2, true);
  const end = start + total;
  if (total < 4 || end > view.byteLength) return err({ code: 'image-bad-tlv', message: `TLV area of ${total} bytes at offset ${start} runs past the end of the file` });
  let offset = start + 4;
  while (offset < end) {
    if (offset + 4 > end) return err({ code: 'image-bad-tlv', message: `truncated TLV entry at offset ${offset}` });
    const type = view.getUint16(offset, true);
    const length = view.getUint16(offset + 2, true);
    if (offset + 4 + length > end) return err({ code: 'image-bad-tlv', message: `TLV 0x${type.toString(16)} at offset ${offset} runs past its area` });
    if (type === IMAGE_TLV_SHA256 && length !== 32) return err({ code: 'image-bad-tlv', message: `SHA-256 TLV has ${length} bytes, not 32` });
    out.push({ type, length, protected: isProtected });
    offset += 4 + length;
  }
  return ok(end);
}

function findTlvValue(view: DataView, areaStart: number, type: number): number | null {
  const end = areaStart + view.getUint16(areaStart + 2, true);
  for (let offset = areaStart + 4; offset + 4 <= end; offset += 4 + view.getUint16(offset + 2, true)) {
    if (view.getUint16(offset, true) === type) return offset + 4;
  }
  return null;
}

export interface BuildImageOptions {
  version: ImageVersion;
  body: Uint8Array;
  /** Header plus padding; imgtool uses 0x200 for Zephyr (default). */
  headerSize?: number;
  loadAddress?: number;
  flags?: number;
}

/**
 * Writes an unsigned MCUboot image (header, body, TLV area with the SHA-256 TLV), as
 * `imgtool sign` does without a key.
 * @example buildMcubootImage({ version: { major: 1, minor: 2, revision: 3, build: 4 }, body })
 */
export function buildMcubootImage(options: BuildImageOptions): Uint8Array {
  const headerSize = options.headerSize ?? 0x200;
  const { body, version } = options;
  const tlvAreaSize = 4 + 4 + 32;
  const image = new Uint8Array(headerSize + body.length + tlvAreaSize);
  const view = new DataView(image.buffer);
  view.setUint32(0, IMAGE_MAGIC, true);
  view.setUint32(4, options.loadAddress ?? 0, true);
  view.setUint16(8, headerSize, true);
  view.setUint16(10, 0, true);
  view.setUint32(12, body.length, true);
  view.setUint32(16, options.flags ?? 0, true);
  image[20] = version.major;
  image[21] = version.minor;
  view.setUint16(22, version.revision, true);
  view.setUint32(24, version.build, true);
  image.set(body, headerSize);
  const tlvStart = headerSize + body.length;
  view.setUint16(tlvStart, IMAGE_TLV_INFO_MAGIC, true);
  view.setUint16(tlvStart + 2, tlvAreaSize, true);
  view.setUint16(tlvStart + 4, IMAGE_TLV_SHA256, true);
  view.setUint16(tlvStart + 6, 32, true);
  image.set(sha256(image.subarray(0, tlvStart)), tlvStart + 8);
  return image;
}
