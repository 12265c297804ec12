/**
 * The console's MQTT link against a real broker (Debian's mosquitto, started here on free ports
 * with a websockets listener, stopped by its pid): mqtt.js over WebSocket as in the browser,
 * board-signed telemetry from the Node publisher over TCP, each refusal back on the device's
 * error topic as `{deviceId, counter, reason}`. Skipped, with the reason, without mosquitto.
 */
import 'fake-indexeddb/auto';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleLink, openConsoleLink, ReplayStore, TelemetryVerifier, type Verdict } from '../../src/lib/console';
import { openDeviceRegistry } from '../../src/lib/registry';
import { findMosquitto, type Mosquitto, startMosquitto } from '../../src/node/mosquitto';
import { provisionSimulatedBoard, signRange, TelemetryPublisher, telemetryTopic, type ProvisionedBoard } from '../../src/node/telemetry-publisher';

const mosquitto = findMosquitto();

describe.skipIf(!mosquitto)(mosquitto ? 'console over MQTT (mosquitto)' : 'console over MQTT — skipped: mosquitto is not installed (apt-get install -y mosquitto)', () => {
  let broker: Mosquitto;
  let provisioned: ProvisionedBoard;
  let link: ConsoleLink;
  let publisher: TelemetryPublisher;
  let errors: MqttClient;
  const verdicts: Verdict[] = [];
  const notices: { topic: string; body: { deviceId: string; counter: number | null; reason: string } }[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    provisioned = await provisionSimulatedBoard({ serialNumber: 'SIM-MQTT-1' });
    const registry = await openDeviceRegistry('mqtt-registry');
    const replay = await ReplayStore.open('mqtt-console');
    if (!registry.ok || !replay.ok) throw new Error('storage');
    expect((await registry.value.register({ chain: provisioned.chainPem, root: provisioned.rootPem })).ok).toBe(true);
    const verifier = new TelemetryVerifier({ directory: registry.value, replay: replay.value });
    errors = await connectAsync(broker.tcpUrl, {}, false);
    await errors.subscribeAsync('imprint/+/error', { qos: 1 });
    errors.on('message', (topic, payload) => notices.push({ topic, body: JSON.parse(payload.toString()) }));
    const opened = await openConsoleLink({ url: broker.wsUrl, topic: 'imprint/+/telemetry' }, (topic, bytes) => {
      void verifier.verify(topic, bytes).then((verdict) => {
        verdicts.push(verdict);
        if (verdict.status === 'refused') link.publishRefusal(verdict);
      });
    });
    if (!opened.ok) throw new Error(`${opened.error.message}\n${broker.log()}`);
    link = opened.value;
    publisher = await TelemetryPublisher.connect(broker.tcpUrl);
  }, 60_000);

  afterAll(async () => {
    await publisher?.close();
    await link?.close();
    await errors?.endAsync();
    await provisioned?.close();
    await broker?.stop();
  });

  async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('accepts 300 board-signed messages, refuses the same 300 replayed with a notice each on the error topic', async () => {
    const topic = telemetryTopic(provisioned.deviceId);
    const messages = await signRange(provisioned, 1n, 300);
    await publisher.publish(topic, messages);
    await until(() => verdicts.length >= 300, '300 verdicts');
    expect(verdicts.filter((verdict) => verdict.status === 'accepted')).toHaveLength(300);
    await publisher.publish(topic, messages);
    await until(() => notices.length >= 300, '300 error notices');
    expect(verdicts.filter((verdict) => verdict.status === 'accepted')).toHaveLength(300);
    expect(new Set(notices.map((notice) => notice.topic))).toEqual(new Set([`imprint/${provisioned.deviceId}/error`]));
    const counters = notices.map((notice) => notice.body.counter).sort((a, b) => a! - b!);
    expect(counters).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(new Set(notices.map((notice) => notice.body.reason))).toEqual(new Set(['replay', 'too-old']));
    expect(notices.every((notice) => notice.body.deviceId === provisioned.deviceId)).toBe(true);
  });

  it('refuses a flipped byte and an unregistered device, each with its reason on its own error topic', async () => {
    const before = notices.length;
    const [fresh] = await signRange(provisioned, 10_000n, 1);
    const flipped = fresh!.slice();
    flipped[flipped.length - 3]! ^= 0x40;
    await publisher.publish(telemetryTopic(provisioned.deviceId), [flipped]);
    await publisher.publish('imprint/not-registered-1/telemetry', [fresh!]);
    await until(() => notices.length >= before + 2, 'two more notices');
    const latest = notices.slice(before).map((notice) => [notice.topic, notice.body.reason]);
    expect(latest).toContainEqual([`imprint/${provisioned.deviceId}/error`, 'bad-signature']);
    expect(latest).toContainEqual(['imprint/not-registered-1/error', 'unknown-device']);
  });

  it('refuses a wrong URL at once with a reason', async () => {
    const refused = await openConsoleLink({ url: 'http://example.invalid', topic: 'x' }, () => undefined);
    expect(refused.ok ? 'connected' : refused.error.code).toBe('mqtt-bad-url');
  });
});
