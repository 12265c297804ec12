/** The SMP stack's public surface: header, ids, errors, CBOR, framing and the client. */
export { encodeHeader, decodeHeader, SMP_HEADER_SIZE, type SmpHeader, type HeaderError, type HeaderErrorCode } from './header';
export * from './ids';
export { type SmpError, type SmpErrorCode, mgmtError, groupError, registerGroupErrorNames, isSmpError } from './errors';
export { type Result, ok, err } from './result';
export { encodeCbor, decodeCbor, decodeCborMap, isCborMap, type CborMap, type CborValue, type CborError, type CborErrorCode } from './cbor';
export { readShape, type Shape, type FieldKind } from './schema';
export {
  encodeSerialFrames,
  SerialFrameDecoder,
  SERIAL_MAX_LINE_LENGTH,
  type FramingError,
  type FramingErrorCode,
  type SerialFrameOptions,
  type SerialFrameDecoderOptions,
} from './framing/serial';
export { crc16Xmodem } from './framing/crc16';
export { SmpClient, responseError, DEFAULT_TIMEOUT_MS, type SmpClientOptions, type SmpRequest, type SmpExchange } from './client';
export { openPacketLink, type PacketLink } from './link';
