/**
 * Runs the spec's example scenario (device/keys-examples.ts) against a simulated board whose
 * randomness is seeded, so every key, signature and wrap in docs/protocol/keys-group.md comes
 * out the same on every run: the board that answers them is the executable spec.
 */
import { buildKeysExamples, type KeysExample, type PacketExchange } from '../../device/keys-examples';
import { SmpPacketReassembler } from '../../smp/framing/packet';
import { LoopbackTransport } from '../../transport/loopback';
import type { SimulatedBoard } from '../board';
import { createSimulatedDevice } from '../index';
import { seededRandom } from './crypto';

export const SPEC_EXAMPLES_SEED = 'imprint keys-group spec examples';

/** Raw packets to and from `board` over a packet-framed link (no console framing in the way). */
export function openPacketExchange(board: SimulatedBoard): { exchange: PacketExchange; close: () => Promise<void> } {
  const [host, boardEnd] = LoopbackTransport.pair({ framing: 'packet', description: 'packet exchange' });
  board.serve(boardEnd);
  const incoming = host.receive();
  const reassembler = new SmpPacketReassembler();
  const ready: Uint8Array[] = [];
  const exchange: PacketExchange = async (packet) => {
    await host.send(packet);
    while (ready.length === 0) {
      const next = await incoming.next();
      if (next.done) throw new Error('the simulated board closed the link');
      for (const result of reassembler.push(next.value)) if (result.ok) ready.push(result.value);
    }
    return ready.shift()!;
  };
  return { exchange, close: () => host.close() };
}

/** The examples as the seeded simulated board answers them today. */
export async function keysSpecExamples(): Promise<KeysExample[]> {
  const { board } = createSimulatedDevice({ keys: { random: seededRandom(SPEC_EXAMPLES_SEED) } });
  const link = openPacketExchange(board);
  try {
    return await buildKeysExamples(link.exchange);
  } finally {
    await link.close();
  }
}
