/**
 * CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final xor), as the MCUmgr serial
 * framing uses it. Check value for "123456789" is 0x31c3 (the CRC catalogue's entry).
 */

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/** @example crc16Xmodem(new TextEncoder().encode('123456789')) === 0x31c3 */
export function crc16Xmodem(bytes: Uint8Array, initial = 0): number {
  let crc = initial;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}
