/**
 * SmpClient over a loopback pair, against a small fake SMP responder that decodes real serial
 * frames and answers with real ones: sequence numbers, matching, window, timeouts, cancelling,
 * disconnects, v1/v2 errors and the v2 → v1 fallback.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SmpClient, type SmpClientOptions, type SmpExchange, type SmpRequest } from '../../src/lib/smp/client';
import { decodeCborMap, encodeCbor, type CborMap } from '../../src/lib/smp/cbor';
import { encodeSerialFrames, SerialFrameDecoder } from '../../src/lib/smp/framing/serial';
import { decodeHeader, encodeHeader, SMP_HEADER_SIZE, type SmpHeader } from '../../src/lib/smp/header';
import { MGMT_GROUP_ID, MGMT_OP, OS_MGMT_ID } from '../../src/lib/smp/ids';
import { LoopbackTransport } from '../../src/lib/transport/loopback';
import { concatBytes, hexToBytes, utf8 } from '../../src/lib/util/bytes';

interface Received {
  header: SmpHeader;
  payload: CborMap | null;
}

type Handler = (request: Received, board: FakeBoard) => void;

/** The board's side: decodes request frames, records them, lets the test answer as it likes. */
class FakeBoard {
  readonly received: Received[] = [];
  replied = 0;
  private readonly decoder = new SerialFrameDecoder();

  constructor(
    readonly end: LoopbackTransport,
    public handler: Handler,
  ) {
    void (async () => {
      for await (const chunk of end.receive()) {
        for (const packet of this.decoder.push(chunk)) {
          const header = decodeHeader(packet);
          if (!header.ok) throw new Error(`client sent a bad header: ${header.error.message}`);
          const payload = decodeCborMap(packet.subarray(SMP_HEADER_SIZE));
          const request = { header: header.value, payload: payload.ok ? payload.value : null };
          this.received.push(request);
          this.handler(request, this);
        }
      }
    })();
  }

  /** How many requests the board holds without an answer. */
  get outstanding(): number {
    return this.received.length - this.replied;
  }

  /** Answers `request` with `payload` (a map, or raw CBOR bytes), optionally lying in header fields. */
  reply(request: Received, payload: CborMap | Uint8Array, header: Partial<SmpHeader> = {}): void {
    const body = payload instanceof Uint8Array ? payload : encodeCbor(payload);
    const op = (request.header.op | 1) as SmpHeader['op'];
    this.replied++;
    this.sendPacket(concatBytes(encodeHeader({ ...request.header, op, length: body.length, ...header }), body));
  }

  sendPacket(packet: Uint8Array, prefix = ''): void {
    void this.end.send(concatBytes(utf8.encode(prefix), ...encodeSerialFrames(packet)));
  }
}

/** Echo: `{d}` comes back as `{r}`, as Zephyr's os/echo does. */
const echo: Handler = (request, board) => board.reply(request, { r: request.payload?.d ?? null });
const silent: Handler = () => {};

const clients: SmpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function setup(handler: Handler = echo, options: SmpClientOptions = {}) {
  const [clientEnd, boardEnd] = LoopbackTransport.pair({ description: 'test loopback' });
  const board = new FakeBoard(boardEnd, handler);
  const client = new SmpClient(clientEnd, { timeoutMs: 1000, ...options });
  clients.push(client);
  return { client, board, clientEnd, boardEnd };
}

/** Polls quickly: the fake board answers within microtasks. */
const until = (check: () => void) => vi.waitFor(check, { interval: 1, timeout: 1000 });

const echoRequest = (d: string, extra: Partial<SmpRequest> = {}): SmpRequest => ({
  group: MGMT_GROUP_ID.OS,
  command: OS_MGMT_ID.ECHO,
  op: 'write',
  payload: { d },
  ...extra,
});

describe('sequence numbers and matching', () => {
  it('assigns seq 0, 1, 2 … and wraps at 256', async () => {
    const { client, board } = setup();
    for (let i = 0; i < 260; i++) {
      const result = await client.request(echoRequest(`n${i}`));
      expect(result).toEqual({ ok: true, value: { r: `n${i}` } });
    }
    const seqs = board.received.map((r) => r.header.seq);
    expect(seqs.slice(0, 3)).toEqual([0, 1, 2]);
    expect(seqs.slice(254, 260)).toEqual([254, 255, 0, 1, 2, 3]);
  });

  it('matches answers by seq when the board answers out of order (window 3)', async () => {
    const held: Received[] = [];
    const { client, board } = setup((request, b) => {
      held.push(request);
      if (held.length === 3) for (const r of held.splice(0).reverse()) echo(r, b);
    }, { window: 3 });
    const results = await Promise.all(['a', 'b', 'c'].map((d) => client.request(echoRequest(d))));
    expect(results).toEqual(['a', 'b', 'c'].map((r) => ({ ok: true, value: { r } })));
    expect(board.received.map((r) => r.header.seq)).toEqual([0, 1, 2]);
  });

  it('ignores answers with the wrong group, command, op or seq, then times out', async () => {
    const { client } = setup(
      (request, board) => {
        board.reply(request, { r: 'wrong group' }, { group: 1 });
        board.reply(request, { r: 'wrong command' }, { command: 1 });
        board.reply(request, { r: 'wrong op' }, { op: MGMT_OP.READ_RSP });
        board.reply(request, { r: 'a request, not a response' }, { op: MGMT_OP.WRITE });
        board.reply(request, { r: 'wrong seq' }, { seq: (request.header.seq + 1) & 0xff });
      },
      { timeoutMs: 60 },
    );
    const result = await client.request(echoRequest('x'));
    expect(result).toMatchObject({ ok: false, error: { code: 'timeout', command: 'os/echo' } });
    if (!result.ok) expect(result.error.message).toContain('no response in 60 ms');
  });

  it('times out after the default 2 s, or a request\'s own timeoutMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { client } = setup(silent, { timeoutMs: undefined });
      let settled = false;
      const pending = client.request(echoRequest('x')).finally(() => (settled = true));
      await vi.advanceTimersByTimeAsync(1999);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const result = await pending;
      expect(result).toMatchObject({ ok: false, error: { code: 'timeout' } });
      if (!result.ok) expect(result.error.message).toBe('os/echo: no response in 2 s — is the board running the SMP server on this test loopback?');
      const slow = client.request(echoRequest('erase', { timeoutMs: 15_500 }));
      await vi.advanceTimersByTimeAsync(15_500);
      const slowResult = await slow;
      expect(slowResult).toMatchObject({ ok: false, error: { code: 'timeout' } });
      if (!slowResult.ok) expect(slowResult.error.message).toContain('no response in 15.5 s');
    } finally {
      vi.useRealTimers();
    }
  });

  it('ignores a late answer to a request that timed out', async () => {
    const { client, board } = setup(silent, { timeoutMs: 40 });
    const first = await client.request(echoRequest('old'));
    expect(first).toMatchObject({ ok: false, error: { code: 'timeout' } });
    const second = client.request(echoRequest('new', { timeoutMs: 1000 }));
    await until(() => expect(board.received).toHaveLength(2));
    const [old, fresh] = board.received as [Received, Received];
    expect(old.header.seq).not.toBe(fresh.header.seq);
    board.reply(old, { r: 'stale' });
    board.reply(fresh, { r: 'fresh' });
    expect(await second).toEqual({ ok: true, value: { r: 'fresh' } });
  });
});

describe('window', () => {
  it('never has more than `window` requests outstanding at the board', async () => {
    let most = 0;
    const { client, board } = setup(
      (request, b) => {
        most = Math.max(most, b.outstanding);
        setTimeout(() => echo(request, b), 2);
      },
      { window: 2 },
    );
    const results = await Promise.all(['1', '2', '3', '4', '5'].map((d) => client.request(echoRequest(d))));
    expect(results.map((r) => r.ok && r.value.r)).toEqual(['1', '2', '3', '4', '5']);
    expect(most).toBe(2);
    expect(board.received).toHaveLength(5);
  });

  it('sends one at a time by default', async () => {
    let most = 0;
    const { client } = setup((request, b) => {
      most = Math.max(most, b.outstanding);
      setTimeout(() => echo(request, b), 1);
    });
    await Promise.all(['1', '2', '3'].map((d) => client.request(echoRequest(d))));
    expect(most).toBe(1);
  });
});

describe('cancelling', () => {
  it('an already aborted signal gives aborted without sending', async () => {
    const { client, board } = setup();
    const result = await client.request(echoRequest('x', { signal: AbortSignal.abort() }));
    expect(result).toMatchObject({ ok: false, error: { code: 'aborted', command: 'os/echo' } });
    expect(await client.request(echoRequest('next'))).toEqual({ ok: true, value: { r: 'next' } });
    expect(board.received).toHaveLength(1);
  });

  it('aborting while the board holds the request gives aborted, ignores the late answer, and the next request works', async () => {
    const { client, board } = setup(silent);
    const controller = new AbortController();
    const pending = client.request(echoRequest('slow', { signal: controller.signal }));
    await until(() => expect(board.received).toHaveLength(1));
    controller.abort();
    expect(await pending).toMatchObject({ ok: false, error: { code: 'aborted' } });
    board.handler = echo;
    board.reply(board.received[0]!, { r: 'late' });
    expect(await client.request(echoRequest('next'))).toEqual({ ok: true, value: { r: 'next' } });
  });

  it('aborting a queued request takes it out of the queue', async () => {
    const { client, board } = setup(silent);
    const controller = new AbortController();
    const first = client.request(echoRequest('first'));
    const queued = client.request(echoRequest('queued', { signal: controller.signal }));
    controller.abort();
    expect(await queued).toMatchObject({ ok: false, error: { code: 'aborted' } });
    await until(() => expect(board.received).toHaveLength(1));
    echo(board.received[0]!, board);
    expect(await first).toEqual({ ok: true, value: { r: 'first' } });
    expect(board.received.map((r) => r.payload?.d)).toEqual(['first']);
  });
});

describe('disconnects', () => {
  it('the board going away settles in-flight and queued requests with disconnected; later ones are not-connected', async () => {
    const disconnects: string[] = [];
    const { client, board, boardEnd } = setup(silent, { window: 2, onDisconnect: (info) => disconnects.push(info.reason) });
    const pending = ['1', '2', '3', '4'].map((d) => client.request(echoRequest(d)));
    await until(() => expect(board.received).toHaveLength(2));
    boardEnd.drop({ reason: 'lost', message: 'cable pulled' });
    const results = await Promise.all(pending);
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, error: { code: 'disconnected' } });
      if (!result.ok) expect(result.error.message).toContain('went away');
    }
    expect(disconnects).toEqual(['lost']);
    expect(client.isConnected).toBe(false);
    expect(await client.request(echoRequest('later'))).toMatchObject({ ok: false, error: { code: 'not-connected' } });
  });

  it('close() does the same from our side', async () => {
    const { client } = setup(silent);
    const pending = [client.request(echoRequest('1')), client.request(echoRequest('2'))];
    await client.close();
    for (const result of await Promise.all(pending)) expect(result).toMatchObject({ ok: false, error: { code: 'disconnected' } });
    const later = await client.request(echoRequest('later'));
    expect(later).toMatchObject({ ok: false, error: { code: 'not-connected' } });
    if (!later.ok) expect(later.error.message).toContain('closed');
  });
});

describe('errors in answers', () => {
  it('v1 {rc: 5} → mgmt error rc 5', async () => {
    const { client } = setup((request, board) => board.reply(request, { rc: 5 }), { version: 0 });
    const result = await client.request(echoRequest('x'));
    expect(result).toMatchObject({ ok: false, error: { code: 'mgmt', rc: 5, command: 'os/echo' } });
    if (!result.ok) expect(result.error.message).toBe('os/echo: the board answered rc 5 (no such file or entry)');
  });

  it('v2 {err: {group: 1, rc: 9}} → group error naming "no free slot"', async () => {
    const { client } = setup((request, board) => board.reply(request, { err: { group: 1, rc: 9 } }));
    const result = await client.request({ group: MGMT_GROUP_ID.IMAGE, command: 1, op: 'write', payload: { off: 0 } });
    expect(result).toMatchObject({ ok: false, error: { code: 'group', group: 1, rc: 9, command: 'image/upload' } });
    if (!result.ok) expect(result.error.message).toContain('no free slot');
  });

  it('{rc: 0} and {err: {group, rc: 0}} are success', async () => {
    const answers: CborMap[] = [{ rc: 0 }, { err: { group: 1, rc: 0 } }, { rc: 0, r: 'x' }];
    const { client } = setup((request, board) => board.reply(request, answers[request.header.seq]!));
    for (const answer of answers) expect(await client.request(echoRequest('x'))).toEqual({ ok: true, value: answer });
  });

  it('undecodable CBOR → bad-response', async () => {
    const { client } = setup((request, board) => board.reply(request, hexToBytes('bf 61 72')));
    const result = await client.request(echoRequest('x'));
    expect(result).toMatchObject({ ok: false, error: { code: 'bad-response', command: 'os/echo' } });
    if (!result.ok) expect(result.error.message).toContain('malformed CBOR');
  });

  it('a header length that disagrees with the packet → bad-response', async () => {
    const { client } = setup((request, board) => board.reply(request, { r: 'x' }, { length: 99 }));
    const result = await client.request(echoRequest('x'));
    expect(result).toMatchObject({ ok: false, error: { code: 'bad-response' } });
    if (!result.ok) expect(result.error.message).toContain('header says 99 payload bytes');
  });

  it('a request bigger than maxPacketSize → too-large, nothing sent', async () => {
    const { client, board } = setup(echo, { maxPacketSize: 64 });
    const result = await client.request(echoRequest('x'.repeat(100)));
    expect(result).toMatchObject({ ok: false, error: { code: 'too-large' } });
    if (!result.ok) expect(result.error.message).toContain('64-byte');
    expect(await client.request(echoRequest('small'))).toMatchObject({ ok: true });
    expect(board.received).toHaveLength(1);
  });
});

describe('SMP versions', () => {
  it('speaks v2 by default and stays there when the board answers in v2', async () => {
    const { client, board } = setup();
    await client.request(echoRequest('x'));
    await client.request(echoRequest('y'));
    expect(board.received.map((r) => r.header.version)).toEqual([1, 1]);
    expect(client.version).toBe(1);
  });

  it('drops to v1 after a v2 request is answered with a v1 header', async () => {
    const { client, board } = setup((request, b) => b.reply(request, { r: request.payload?.d ?? null }, { version: 0 }));
    expect(await client.request(echoRequest('x'))).toEqual({ ok: true, value: { r: 'x' } });
    expect(client.version).toBe(0);
    await client.request(echoRequest('y'));
    expect(board.received.map((r) => r.header.version)).toEqual([1, 0]);
  });

  it('retries in v1 when a v2 request gets rc 13 (UNSUPPORTED_TOO_NEW), transparently', async () => {
    const { client, board } = setup((request, b) => {
      if (request.header.version === 1) b.reply(request, { rc: 13 }, { version: 0 });
      else echo(request, b);
    });
    expect(await client.request(echoRequest('x'))).toEqual({ ok: true, value: { r: 'x' } });
    expect(board.received.map((r) => [r.header.version, r.header.seq])).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(client.version).toBe(0);
    expect(await client.request(echoRequest('y'))).toEqual({ ok: true, value: { r: 'y' } });
    expect(board.received).toHaveLength(3);
  });

  it('requests queued before the fallback still succeed', async () => {
    const { client } = setup((request, b) => {
      if (request.header.version === 1) b.reply(request, { rc: 13 }, { version: 0 });
      else setTimeout(() => echo(request, b), 1);
    });
    const results = await Promise.all(['a', 'b', 'c'].map((d) => client.request(echoRequest(d))));
    expect(results).toEqual(['a', 'b', 'c'].map((r) => ({ ok: true, value: { r } })));
  });

  it('does not retry rc 13 on a v1 request', async () => {
    const { client, board } = setup((request, b) => b.reply(request, { rc: 13 }), { version: 0 });
    expect(await client.request(echoRequest('x'))).toMatchObject({ ok: false, error: { code: 'mgmt', rc: 13 } });
    expect(board.received).toHaveLength(1);
  });
});

describe('transport failures', () => {
  it('a write that fails settles the request with transport and the client keeps going', async () => {
    const { client, clientEnd } = setup();
    const send = clientEnd.send.bind(clientEnd);
    let failNext = true;
    clientEnd.send = async (bytes) => {
      if (!failNext) return send(bytes);
      failNext = false;
      throw new Error('write failed: device busy');
    };
    const result = await client.request(echoRequest('x'));
    expect(result).toMatchObject({ ok: false, error: { code: 'transport' } });
    if (!result.ok) expect(result.error.message).toBe('os/echo: could not send (write failed: device busy)');
    expect(await client.request(echoRequest('y'))).toEqual({ ok: true, value: { r: 'y' } });
  });
});

describe('observing', () => {
  it('onExchange sees tx and rx with decoded payloads', async () => {
    const seen: SmpExchange[] = [];
    const { client } = setup(echo, { onExchange: (exchange) => seen.push(exchange) });
    await client.request(echoRequest('hi'));
    expect(seen.map((e) => [e.direction, e.command, e.payload, e.header.seq, e.header.op])).toEqual([
      ['tx', 'os/echo', { d: 'hi' }, 0, MGMT_OP.WRITE],
      ['rx', 'os/echo', { r: 'hi' }, 0, MGMT_OP.WRITE_RSP],
    ]);
    expect(seen[0]!.size).toBe(SMP_HEADER_SIZE + encodeCbor({ d: 'hi' }).length);
  });

  it('finds answers among console noise and reports the noise', async () => {
    const console: string[] = [];
    const { client } = setup(
      (request, board) => {
        void board.end.send(utf8.encode('[00:00:01.000,000] <inf> x: y\r\n'));
        const body = hexToBytes('bf 61 72 62 61 61 ff'); // Zephyr's own {"r":"aa"}
        const header = encodeHeader({ ...request.header, op: MGMT_OP.WRITE_RSP, length: body.length });
        board.sendPacket(concatBytes(header, body), '\r\n\r\nuart:~$ ');
      },
      { onConsoleText: (line) => console.push(utf8.decode(line)) },
    );
    expect(await client.request(echoRequest('aa'))).toEqual({ ok: true, value: { r: 'aa' } });
    expect(console).toEqual(['[00:00:01.000,000] <inf> x: y\r', '\r', '\r', 'uart:~$ ']);
  });
});
