/**
 * The console's MQTT link: mqtt.js over WebSocket (`ws://`, `wss://`) to a broker the operator
 * names — there is no server of ours — subscribed to the telemetry pattern, publishing each
 * refusal to the device's error topic. mqtt.js is loaded on first connect, so pages that never
 * open the console do not carry it. The same code runs in Node (tests, the publisher), where
 * `mqtt://` works too.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { type Result, ok, err } from '../smp/result';
import type { Refused } from './verifier';

export const DEFAULT_ERROR_TOPIC = 'imprint/{deviceId}/error';

export interface LinkOptions {
  /** `ws://host:port/path` or `wss://…` (`mqtt://` in Node). */
  url: string;
  username?: string;
  password?: string;
  /** Subscription pattern; default `imprint/+/telemetry`. */
  topic: string;
  /** `{deviceId}` is replaced; default `imprint/{deviceId}/error`. */
  errorTopic?: string;
  clientId?: string;
  /** QoS of the subscription; 1 by default, so the broker redelivers what a dropped link lost. */
  qos?: 0 | 1;
  connectTimeoutMs?: number;
}

export interface LinkError {
  code: 'mqtt-bad-url' | 'mqtt-connect' | 'mqtt-subscribe';
  message: string;
}

export type LinkStatus = 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface ConsoleLink {
  /** Publishes `{deviceId, counter, reason}` (JSON) to the device's error topic. */
  publishRefusal(refusal: Refused): void;
  close(): Promise<void>;
}

/** The JSON a device reads from its error topic (docs/protocol/telemetry.md §5). */
export function refusalNotice(refusal: Pick<Refused, 'deviceId' | 'counter' | 'reason'>): string {
  const counter = refusal.counter === null ? null : refusal.counter <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(refusal.counter) : refusal.counter.toString();
  return JSON.stringify({ deviceId: refusal.deviceId, counter, reason: refusal.reason });
}

export function errorTopicFor(template: string, deviceId: string | null): string {
  return template.replace('{deviceId}', deviceId ?? 'unknown');
}

/**
 * @example const link = await openConsoleLink({ url: 'wss://broker:8884', topic: 'imprint/+/telemetry' },
 *   (topic, bytes) => verifier.verify(topic, bytes).then(…), (status) => …);
 */
export async function openConsoleLink(
  options: LinkOptions,
  onMessage: (topic: string, bytes: Uint8Array) => void,
  onStatus: (status: LinkStatus, detail?: string) => void = () => undefined,
): Promise<Result<ConsoleLink, LinkError>> {
  if (!/^(wss?|mqtts?):\/\/[^\s/]+/.test(options.url)) return err({ code: 'mqtt-bad-url', message: `broker URL ${JSON.stringify(options.url)} must start with ws:// or wss:// (mqtt:// only from Node)` });
  const loaded = await import('mqtt');
  // The browser build (dist/mqtt.esm.js) has only a default export; Node's has named ones too.
  const connectAsync = (loaded.connectAsync as typeof loaded.connectAsync | undefined) ?? loaded.default.connectAsync;
  const connectOptions: IClientOptions = {
    clientId: options.clientId ?? `imprint-console-${Math.random().toString(16).slice(2, 10)}`,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    reconnectPeriod: 2_000,
    clean: true,
    // mqtt.js's default keepalive timers run in a blob: worker, which our CSP (worker-src 'self') refuses.
    timerVariant: 'native',
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  };
  let client: MqttClient;
  try {
    // allowRetries false: a wrong URL or refused credentials fail now instead of retrying for ever.
    client = await connectAsync(options.url, connectOptions, false);
  } catch (caught) {
    return err({ code: 'mqtt-connect', message: `could not connect to ${options.url}: ${caught instanceof Error ? caught.message : String(caught)}` });
  }
  try {
    await client.subscribeAsync(options.topic, { qos: options.qos ?? 1 });
  } catch (caught) {
    await client.endAsync(true).catch(() => undefined);
    return err({ code: 'mqtt-subscribe', message: `the broker refused the subscription to ${options.topic}: ${caught instanceof Error ? caught.message : String(caught)}` });
  }
  client.on('message', (topic, payload) => onMessage(topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength)));
  client.on('connect', () => onStatus('connected'));
  client.on('reconnect', () => onStatus('reconnecting'));
  client.on('offline', () => onStatus('offline'));
  client.on('error', (error) => onStatus('offline', error.message));
  onStatus('connected');
  const errorTopic = options.errorTopic ?? DEFAULT_ERROR_TOPIC;
  return ok({
    publishRefusal(refusal) {
      client.publish(errorTopicFor(errorTopic, refusal.deviceId), refusalNotice(refusal), { qos: 0 });
    },
    async close() {
      await client.endAsync().catch(() => undefined);
      onStatus('closed');
    },
  });
}
