/**
 * The console's path without the broker: the sliding window against a reference model, the
 * window's persistence (reopened, and two "tabs" on one database), group commit, and the
 * verifier on messages a provisioned simulated board signed — accepted once, every refusal with
 * its own reason (replay, too old, flipped byte, unknown device, wrong algorithm, unknown
 * critical header, not CBOR, 1 MB, deep nesting, topic mismatch), EcoWatt HMAC messages.
 */
import 'fake-indexeddb/auto';
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptCounter,
  checkCounter,
  decodeTelemetry,
  EMPTY_WINDOW,
  encodeEcoWatt,
  encodeTelemetry,
  ReplayCommitter,
  ReplayStore,
  type ReplayWindow,
  TelemetryVerifier,
  type Verdict,
} from '../../src/lib/console';
import { COSE_ALG, COSE_HEADER, encodeCoseSign1, encodeHeaderMap, sigStructure } from '../../src/lib/cose';
import { openDeviceRegistry, type DeviceRegistry } from '../../src/lib/registry';
import { concatBytes, hexToBytes, utf8 } from '../../src/lib/util/bytes';
import { provisionSimulatedBoard, signRange, signTelemetry, telemetryTopic, type ProvisionedBoard } from '../../src/node/telemetry-publisher';

describe('the sliding window', () => {
  it('accepts a late unseen counter, refuses a seen or too-old one', () => {
    let window: ReplayWindow = EMPTY_WINDOW;
    for (const counter of [100n, 98n, 101n]) {
      expect(checkCounter(window, counter)).toBe('fresh');
      window = acceptCounter(window, counter);
    }
    expect(checkCounter(window, 98n)).toBe('replay');
    expect(checkCounter(window, 99n)).toBe('fresh');
    expect(checkCounter(window, 101n - 63n)).toBe('fresh');
    expect(checkCounter(window, 101n - 64n)).toBe('too-old');
    window = acceptCounter(window, 1000n);
    expect(checkCounter(window, 101n)).toBe('too-old');
    expect(checkCounter(window, 0n)).toBe('too-old');
    expect(checkCounter(EMPTY_WINDOW, 0n)).toBe('fresh');
    const top = (1n << 64n) - 1n;
    expect(checkCounter(acceptCounter(EMPTY_WINDOW, top), top)).toBe('replay');
  });

  it('agrees with a reference model (every counter seen, and the highest minus 64) on random sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 300n }), { maxLength: 200 }), (counters) => {
        let window: ReplayWindow = EMPTY_WINDOW;
        const seen = new Set<bigint>();
        let highest = -1n;
        for (const counter of counters) {
          const expected = seen.has(counter) ? 'replay' : highest >= 0n && counter <= highest - 64n ? 'too-old' : 'fresh';
          const got = checkCounter(window, counter);
          // Seen counters far below the top are "too old" in the window: the model says replay, both refuse.
          if (expected === 'fresh') expect(got).toBe('fresh');
          else expect(got).not.toBe('fresh');
          if (got === 'fresh') {
            window = acceptCounter(window, counter);
            seen.add(counter);
            if (counter > highest) highest = counter;
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

let dbCount = 0;
async function openStore(name = `console-test-${++dbCount}`): Promise<ReplayStore> {
  const store = await ReplayStore.open(name);
  if (!store.ok) throw new Error(store.error.message);
  return store.value;
}

describe('the window in IndexedDB', () => {
  it('commits a batch in order, survives reopening, and a second store on the same database sees it', async () => {
    const name = `console-test-${++dbCount}`;
    const first = await openStore(name);
    const verdicts = await first.commit([
      { deviceId: 'a', counter: 5n },
      { deviceId: 'b', counter: 5n },
      { deviceId: 'a', counter: 5n },
      { deviceId: 'a', counter: 4n },
    ]);
    expect(verdicts.ok && verdicts.value).toEqual(['fresh', 'fresh', 'replay', 'fresh']);
    first.close();
    const reopened = await openStore(name);
    const second = await openStore(name);
    expect((await reopened.commit([{ deviceId: 'a', counter: 4n }])).ok && 'checked').toBe('checked');
    const again = await second.commit([{ deviceId: 'a', counter: 5n }, { deviceId: 'b', counter: 6n }]);
    expect(again.ok && again.value).toEqual(['replay', 'fresh']);
    const window = await reopened.window('b');
    expect(window.ok && window.value.top).toBe(6n);
    reopened.close();
    second.close();
  });

  it('groups what arrives together into one transaction, in submission order', async () => {
    const store = await openStore();
    const committer = new ReplayCommitter(store, 100);
    const results = await Promise.all(Array.from({ length: 250 }, (_, i) => committer.submit({ deviceId: 'g', counter: BigInt(i % 200) })));
    expect(results.filter((result) => result.ok && result.value === 'fresh')).toHaveLength(200);
    expect(results.slice(200).every((result) => result.ok && result.value !== 'fresh')).toBe(true);
    expect(committer.transactions).toBe(3);
  });

  it('a failed transaction accepts nothing in its batch', async () => {
    const committer = new ReplayCommitter({ commit: async () => ({ ok: false, error: { code: 'replay-storage', message: 'disk full' } }) });
    const results = await Promise.all([committer.submit({ deviceId: 'x', counter: 1n }), committer.submit({ deviceId: 'x', counter: 2n })]);
    expect(results.map((result) => result.ok)).toEqual([false, false]);
  });
});

describe('the verifier', () => {
  let provisioned: ProvisionedBoard;
  let stranger: ProvisionedBoard;
  let registry: DeviceRegistry;
  let verifier: TelemetryVerifier;
  let topic: string;

  beforeAll(async () => {
    provisioned = await provisionSimulatedBoard({ serialNumber: 'SIM-VER-1' });
    stranger = await provisionSimulatedBoard({ serialNumber: 'SIM-VER-2', ca: provisioned.ca });
    const opened = await openDeviceRegistry(`verifier-registry-${++dbCount}`);
    if (!opened.ok) throw new Error(opened.error.message);
    registry = opened.value;
    const registered = await registry.register({ chain: provisioned.chainPem, root: provisioned.rootPem });
    if (!registered.ok) throw new Error(registered.error.message);
    verifier = new TelemetryVerifier({ directory: registry, replay: await openStore() });
    topic = telemetryTopic(provisioned.deviceId);
  });

  afterAll(async () => {
    await provisioned?.close();
    await stranger?.close();
  });

  const reasonOf = (verdict: Verdict) => (verdict.status === 'accepted' ? 'accepted' : verdict.reason);

  it('accepts 200 board-signed messages once; the same 200 again are replays; counters 64 behind are too old', async () => {
    const messages = await signRange(provisioned, 1n, 200);
    const first = await Promise.all(messages.map((message) => verifier.verify(topic, message)));
    expect(first.map(reasonOf).filter((reason) => reason !== 'accepted')).toEqual([]);
    const accepted = first[0]!;
    expect(accepted.status === 'accepted' && accepted.deviceId).toBe(provisioned.deviceId);
    expect(accepted.status === 'accepted' && accepted.counter).toBe(1n);
    const again = await Promise.all(messages.map((message) => verifier.verify(topic, message)));
    const reasons = again.map(reasonOf);
    expect(reasons.slice(200 - 64).every((reason) => reason === 'replay')).toBe(true);
    expect(reasons.slice(0, 200 - 64).every((reason) => reason === 'too-old')).toBe(true);
    const refused = again[199]!;
    expect(refused.status === 'refused' && refused.counter).toBe(200n);
    // Every accepted-or-replayed claim went through a committed window (how many per transaction
    // depends on how fast they arrive against the store; grouping itself is tested above).
    expect(verifier.committer.claims).toBe(400);
  });

  it('a burst shares transactions: a message does not wait for the previous message\'s commit (group commit)', async () => {
    const store = await openStore();
    let inFlight = 0;
    let commits = 0;
    // A store whose strict commit takes a while, as a real disk's does.
    const slow = {
      async commit(claims: Parameters<ReplayStore['commit']>[0]) {
        expect(++inFlight).toBe(1);
        commits++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        const committed = await store.commit(claims);
        inFlight--;
        return committed;
      },
    };
    const grouped = new TelemetryVerifier({ directory: registry, replay: slow });
    const messages = await signRange(provisioned, 1n, 300);
    const verdicts = await Promise.all(messages.map((message) => grouped.verify(topic, message)));
    expect(verdicts.map(reasonOf).filter((reason) => reason !== 'accepted')).toEqual([]);
    expect(grouped.committer.claims).toBe(300);
    // One claim per transaction was the bug (the order chain waited for each commit): 300 commits.
    expect(commits).toBeLessThanOrEqual(30);
    // Verdicts still come in arrival order, and a replay in the same burst is refused.
    const again = await Promise.all([grouped.verify(topic, messages[299]!), grouped.verify(topic, messages[299]!)]);
    expect(again.map(reasonOf)).toEqual(['replay', 'replay']);
  });

  it('accepts a late counter inside the window once', async () => {
    const [late] = await signRange(provisioned, 190n + 1000n, 1);
    const [later] = await signRange(provisioned, 200n + 1000n, 1);
    expect(reasonOf(await verifier.verify(topic, later!))).toBe('accepted');
    expect(reasonOf(await verifier.verify(topic, late!))).toBe('accepted');
    expect(reasonOf(await verifier.verify(topic, late!))).toBe('replay');
  });

  it('refuses each bad message with its own reason', async () => {
    const good = await signTelemetry(provisioned, { counter: 5000n });
    const flipped = good.slice();
    flipped[flipped.length - 70]! ^= 0x01; // inside the payload
    expect(reasonOf(await verifier.verify(topic, flipped))).toBe('bad-signature');
    const flippedSig = good.slice();
    flippedSig[flippedSig.length - 1]! ^= 0x01;
    expect(reasonOf(await verifier.verify(topic, flippedSig))).toBe('bad-signature');

    const strangerMessage = await signTelemetry(stranger, { counter: 1n });
    expect(reasonOf(await verifier.verify(telemetryTopic(stranger.deviceId), strangerMessage))).toBe('unknown-device');
    // The stranger's message on our device's topic: its key is not ours.
    expect(reasonOf(await verifier.verify(topic, strangerMessage))).toBe('bad-signature');

    expect(reasonOf(await verifier.verify(topic, utf8.encode('not cbor at all')))).toBe('not-cose');
    expect(reasonOf(await verifier.verify(topic, hexToBytes('ff')))).toBe('not-cose');
    expect(reasonOf(await verifier.verify(topic, new Uint8Array(1024 * 1024)))).toBe('too-large');
    expect(reasonOf(await verifier.verify(topic, concatBytes(hexToBytes('d284'), new Uint8Array(5000).fill(0x81), new Uint8Array([0]))))).toBe('too-large');

    // Signed by the board's key, but claiming another algorithm or carrying a critical header we do not know.
    const payload = encodeTelemetry({ deviceId: provisioned.deviceId, counter: 6000n, time: 0, data: null });
    const custom = (header: Map<number, unknown>) => {
      const protectedBytes = encodeHeaderMap(header as never);
      const signature = p256.sign(sigStructure(protectedBytes, new Uint8Array(), payload), p256.utils.randomSecretKey());
      return encodeCoseSign1({ protectedBytes, payload, signature });
    };
    expect(reasonOf(await verifier.verify(topic, custom(new Map([[COSE_HEADER.ALG, COSE_ALG.ES384]]))))).toBe('algorithm-mismatch');
    expect(reasonOf(await verifier.verify(topic, custom(new Map<number, unknown>([[COSE_HEADER.ALG, COSE_ALG.ES256], [COSE_HEADER.CRIT, [77]], [77, true]]))))).toBe('unknown-critical');
    expect(reasonOf(await verifier.verify(topic, custom(new Map([[COSE_HEADER.ALG, -999]]))))).toBe('unsupported-algorithm');

    // A valid message of ours published under another device's topic.
    const otherTopic = telemetryTopic(stranger.deviceId);
    await registry.register({ chain: stranger.chainPem, root: stranger.rootPem });
    verifier.forget(stranger.deviceId);
    expect(reasonOf(await verifier.verify(otherTopic, good))).toBe('bad-signature');
    // The good message itself, untouched, is still accepted after all of that.
    expect(reasonOf(await verifier.verify(topic, good))).toBe('accepted');
  });

  it('a payload that names another device than the topic is refused even when the signature is right', async () => {
    const payload = encodeTelemetry({ deviceId: 'someone-else', counter: 1n, time: 0, data: 1 });
    const signed = await provisioned.board.keys.signCose(1, payload);
    if (!signed.ok) throw new Error(signed.error.message);
    expect(reasonOf(await verifier.verify(topic, signed.value))).toBe('topic-mismatch');
    const notTelemetry = await provisioned.board.keys.signCose(1, utf8.encode('just bytes'));
    if (!notTelemetry.ok) throw new Error(notTelemetry.error.message);
    expect(reasonOf(await verifier.verify(topic, notTelemetry.value))).toBe('malformed');
  });

  it('verifies EcoWatt HMAC messages with the wrapped secret, and refuses bad MACs and replays', async () => {
    const secret = new Uint8Array(32).map((_, i) => i + 1);
    const deviceKey = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const message = (counter: bigint) => encodeEcoWatt(counter, encodeTelemetry({ deviceId: provisioned.deviceId, counter, time: 1, data: { kwh: 3 } }), deviceKey);
    expect(reasonOf(await verifier.verify(topic, await message(9000n)))).toBe('no-hmac-secret');
    expect((await registry.setHmacSecret(provisioned.deviceId, secret.slice())).ok).toBe(true);
    verifier.forget(provisioned.deviceId);
    const first = await message(9001n);
    const verdict = await verifier.verify(topic, first);
    expect(verdict.status === 'accepted' && verdict.format).toBe('ecowatt');
    expect(reasonOf(await verifier.verify(topic, first))).toBe('replay');
    const text = utf8.decode(await message(9002n));
    const badMac = text.replace(/"mac":"(.)/, (_, c: string) => `"mac":"${c === '0' ? '1' : '0'}`);
    expect(reasonOf(await verifier.verify(topic, utf8.encode(badMac)))).toBe('bad-mac');
    const wrongNonce = text.replace('"nonce":9002', '"nonce":9003');
    expect(reasonOf(await verifier.verify(topic, utf8.encode(wrongNonce)))).toBe('bad-mac');
    expect(reasonOf(await verifier.verify(topic, utf8.encode('{"nonce":1}')))).toBe('malformed');
  });

  it('never throws on arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const verdict = await verifier.verify(topic, bytes);
        expect(verdict.status).toBe('refused');
      }),
      { numRuns: 200 },
    );
  });

  it('decodes telemetry strictly', () => {
    const bytes = encodeTelemetry({ deviceId: 'dev-1', counter: 2n ** 63n, time: 5, data: { t: 21.5 } });
    const decoded = decodeTelemetry(bytes);
    expect(decoded.ok && decoded.value.counter).toBe(2n ** 63n);
    expect(decodeTelemetry(encodeTelemetry({ deviceId: 'bad/id', counter: 1n, time: 0, data: 0 })).ok).toBe(false);
    expect(decodeTelemetry(hexToBytes('a0')).ok).toBe(false);
  });
});
