/**
 * The label a PASS board gets: its serial, device id and certificate fingerprint, in words and
 * as a QR code a phone or a scanner on the line reads back. The QR payload is compact JSON
 * (`{"v":1,"sn":…,"id":…,"fp":…}`): any reader parses it, and the fingerprint lets anyone check
 * the certificate the board presents against the label. The code is drawn as one SVG path from
 * the `qrcode` package's module matrix — no canvas, no data URL, nothing the CSP must allow.
 */
import QRCode from 'qrcode';
import type { StationJob } from './job';

export const LABEL_FORMAT_VERSION = 1;
/** Modules of white around the code, as ISO/IEC 18004 asks. */
export const QR_QUIET_ZONE = 4;
/** Level M (15 %): survives a scuffed label, keeps the code small enough for a 25 mm square. */
const QR_ERROR_CORRECTION = 'M';

export interface LabelContent {
  serial: string;
  deviceId: string;
  /** SHA-256 of the device certificate (DER), hex; null for profiles that issue none. */
  certFingerprint: string | null;
}

export interface QrSvg {
  /** Side of the square in modules, quiet zone included: the SVG's viewBox. */
  size: number;
  /** One path drawing every dark module. */
  path: string;
}

/** A PASS job's label content; null for a board that did not pass. */
export function labelFor(job: StationJob): LabelContent | null {
  if (job.state !== 'pass' || !job.result) return null;
  return { serial: job.serial, deviceId: job.result.deviceId, certFingerprint: job.result.certFingerprint };
}

/** @example labelPayload({ serial: 'SN-1', deviceId: 'be94…', certFingerprint: '7602…' }) // '{"v":1,"sn":"SN-1","id":"be94…","fp":"7602…"}' */
export function labelPayload(content: LabelContent): string {
  return JSON.stringify({ v: LABEL_FORMAT_VERSION, sn: content.serial, id: content.deviceId, ...(content.certFingerprint ? { fp: content.certFingerprint } : {}) });
}

/**
 * The QR code of `text` as an SVG path (runs of dark modules in a row become one rectangle).
 * @example const { size, path } = qrSvg(labelPayload(content)); // <svg viewBox="0 0 {size} {size}"><path d={path} /></svg>
 */
export function qrSvg(text: string): QrSvg {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  const count = modules.size;
  const parts: string[] = [];
  for (let y = 0; y < count; y++) {
    let x = 0;
    while (x < count) {
      if (!modules.get(y, x)) {
        x++;
        continue;
      }
      let run = 1;
      while (x + run < count && modules.get(y, x + run)) run++;
      parts.push(`M${x + QR_QUIET_ZONE} ${y + QR_QUIET_ZONE}h${run}v1h-${run}z`);
      x += run;
    }
  }
  return { size: count + 2 * QR_QUIET_ZONE, path: parts.join('') };
}

/** The matrix as rows of booleans (dark = true), for tests that decode or compare it. */
export function qrMatrix(text: string): boolean[][] {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  return Array.from({ length: modules.size }, (_, y) => Array.from({ length: modules.size }, (_, x) => !!modules.get(y, x)));
}
