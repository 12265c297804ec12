/**
 * Turns a byte transport into a stream of SMP packets: console framing for serial-like
 * transports, reassembly by header length for fragment transports (BLE, USB bulk).
 */
import type { Transport, DisconnectInfo } from '../transport/types';
import { concatBytes } from '../util/bytes';
import { SmpPacketReassembler } from './framing/packet';
import { encodeSerialFrames, SerialFrameDecoder, type FramingError } from './framing/serial';

export interface PacketLinkHandlers {
  onPacket: (packet: Uint8Array) => void;
  onFramingError?: (error: FramingError) => void;
  onConsoleText?: (text: Uint8Array) => void;
  onDisconnect: (info: DisconnectInfo) => void;
}

export interface PacketLink {
  readonly description: string;
  sendPacket(packet: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface PacketLinkOptions {
  /** Longest console line the board accepts (127 for Zephyr). */
  maxLineLength?: number;
}

export function openPacketLink(transport: Transport, handlers: PacketLinkHandlers, options: PacketLinkOptions = {}): PacketLink {
  const decoder =
    transport.framing === 'console'
      ? new SerialFrameDecoder({ onError: handlers.onFramingError, onConsoleText: handlers.onConsoleText })
      : null;
  const reassembler = transport.framing === 'packet' ? new SmpPacketReassembler() : null;

  // One bad packet handler (a throwing onExchange, say) must not end the receive loop for good.
  const deliver = (packet: Uint8Array) => {
    try {
      handlers.onPacket(packet);
    } catch (caught) {
      console.error('SMP packet handler failed', caught);
    }
  };
  void (async () => {
    try {
      for await (const chunk of transport.receive()) {
        if (decoder) for (const packet of decoder.push(chunk)) deliver(packet);
        for (const result of reassembler?.push(chunk) ?? []) {
          if (result.ok) deliver(result.value);
          else handlers.onFramingError?.(result.error);
        }
      }
    } catch {
      // The transport reports why through `disconnected`; nothing more to add here.
    }
  })();
  void transport.disconnected.then(handlers.onDisconnect);

  return {
    description: transport.description,
    async sendPacket(packet) {
      if (transport.framing === 'packet') return transport.send(packet);
      // One write per frame keeps lines whole even when a platform splits large writes.
      const lines = encodeSerialFrames(packet, { maxLineLength: options.maxLineLength });
      await transport.send(concatBytes(...lines));
    },
    close: () => transport.close(),
  };
}
