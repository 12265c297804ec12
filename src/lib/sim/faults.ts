/**
 * Fault injection for the simulated board. Counters are one-shot ("drop the next 2 responses");
 * rates are per frame with a seeded generator so a failing test can be replayed.
 */

export interface FaultPlan {
  /** Requests the board never sees. */
  dropRequests?: number;
  /** Responses the board computes but never sends. */
  dropResponses?: number;
  /** Responses with one byte of their frame flipped (the CRC catches it). */
  corruptResponses?: number;
  /** Extra time before every response, in ms. */
  delayMs?: number;
  /** Writes responses in pieces of this many bytes, as a slow UART driver does. */
  splitWritesBytes?: number;
  /** Prints a log line between response frames. */
  logNoise?: boolean;
  /** The next response is cut half-way and the link goes down. */
  disconnectMidFrame?: boolean;
  /** Probability (0..1) that any response is dropped / corrupted. */
  dropRate?: number;
  corruptRate?: number;
  seed?: number;
}

export class FaultState {
  plan: FaultPlan = {};
  private random: () => number = mulberry32(1);

  inject(plan: FaultPlan): void {
    this.plan = { ...this.plan, ...plan };
    if (plan.seed !== undefined) this.random = mulberry32(plan.seed);
  }

  clear(): void {
    this.plan = {};
  }

  /** Consumes one unit of a one-shot counter; true when the fault applies now. */
  take(counter: 'dropRequests' | 'dropResponses' | 'corruptResponses'): boolean {
    const left = this.plan[counter] ?? 0;
    if (left <= 0) return false;
    this.plan[counter] = left - 1;
    return true;
  }

  takeDisconnect(): boolean {
    if (!this.plan.disconnectMidFrame) return false;
    this.plan.disconnectMidFrame = false;
    return true;
  }

  roll(rate: number | undefined): boolean {
    return rate !== undefined && rate > 0 && this.random() < rate;
  }

  randomIndex(length: number): number {
    return Math.floor(this.random() * length);
  }
}

/** Small seeded PRNG (public domain, Tommy Ettinger): enough for fault placement. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
