/**
 * The device side of the verification console, in Node: a simulated board provisioned the way
 * the station does it (key generated on the board with its CSR, certificate from a CA, chain
 * stored on the board), which then signs telemetry with the keys group's `sign` (`fmt: "cose"`),
 * and a publisher that sends the messages to an MQTT broker. For tests and the benchmark.
 *
 *   npx tsx src/node/telemetry-publisher.ts --broker mqtt://127.0.0.1:1883 --count 100 --out dir/
 *   (writes dir/chain.pem and dir/root.pem to register in the console, then publishes)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { encodeTelemetry } from '../lib/console/telemetry';
import { type Board, connectBoard } from '../lib/device';
import { type CertificateAuthority, createCa, encodePem, issueDeviceCertificate } from '../lib/pki';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../lib/sim';
import { bytesToHex, concatBytes } from '../lib/util/bytes';

export const TELEMETRY_KEY_ID = 1;
export const SUBJECT_TEMPLATE = 'CN={deviceId}, serialNumber={boardSerial}';

export interface ProvisionedBoard {
  sim: SimulatedDevice;
  board: Board;
  /** Hex of the board's `info.device`: the certificate's CN and the telemetry's device id. */
  deviceId: string;
  ca: CertificateAuthority;
  /** Device certificate then the intermediate, PEM: what the console registers. */
  chainPem: string;
  rootPem: string;
  /** The board's 65-byte P-256 public key. */
  publicKey: Uint8Array;
  close(): Promise<void>;
}

/**
 * A simulated board with a P-256 key at id 1 whose certificate (CN = device id) our CA issued
 * from the board's own CSR, chain stored on the board.
 * @example const provisioned = await provisionSimulatedBoard({ serialNumber: 'SIM-0001' });
 */
export async function provisionSimulatedBoard(options: { serialNumber?: string; ca?: CertificateAuthority; validityDays?: number } = {}): Promise<ProvisionedBoard> {
  const serialNumber = options.serialNumber ?? `SIM-${Math.floor(Math.random() * 1e6).toString().padStart(6, '0')}`;
  const sim = createSimulatedDevice({ serialNumber });
  // Wire speed: the tests and the benchmark measure the console, not a 115200-baud model.
  const board = await connectBoard(connectSimulatedBoard(sim.board, { baudRate: Infinity }));
  const fail = async (what: string, message: string): Promise<never> => {
    await board.close();
    throw new Error(`provisioning the simulated board: ${what}: ${message}`);
  };
  const info = await board.keys.info();
  if (!info.ok) return fail('info', info.error.message);
  const deviceId = bytesToHex(info.value.deviceId);
  const subject = `CN=${deviceId},serialNumber=${serialNumber}`;
  const generated = await board.keys.generate({ alg: 'p256', id: TELEMETRY_KEY_ID, csrSubject: subject });
  if (!generated.ok) return fail('generate', generated.error.message);
  let ca = options.ca;
  if (!ca) {
    const created = await createCa({ label: 'Imprint console test' });
    if (!created.ok) return fail('createCa', created.error.message);
    ca = created.value.ca;
  }
  const issued = await issueDeviceCertificate({
    ca,
    csr: generated.value.csr!,
    subjectTemplate: SUBJECT_TEMPLATE,
    subjectValues: { deviceId, boardSerial: serialNumber },
    validityDays: options.validityDays ?? 365,
  });
  if (!issued.ok) return fail('issue', issued.error.message);
  const stored = await board.keys.storeCertificate(TELEMETRY_KEY_ID, concatBytes(issued.value.der, ...issued.value.chain));
  if (!stored.ok) return fail('cert-store', stored.error.message);
  return {
    sim,
    board,
    deviceId,
    ca,
    chainPem: [issued.value.der, ...issued.value.chain].map((der) => encodePem('CERTIFICATE', der)).join(''),
    rootPem: encodePem('CERTIFICATE', ca.root.certificate),
    publicKey: generated.value.publicKey,
    close: () => board.close(),
  };
}

export interface TelemetryReading {
  counter: bigint;
  /** Seconds since 1970; now by default. */
  time?: number;
  data?: unknown;
}

/** The board signs the telemetry payload: a tagged COSE_Sign1 (ES256). */
export async function signTelemetry(provisioned: Pick<ProvisionedBoard, 'board' | 'deviceId'>, reading: TelemetryReading): Promise<Uint8Array> {
  const payload = encodeTelemetry({
    deviceId: provisioned.deviceId,
    counter: reading.counter,
    time: reading.time ?? Math.floor(Date.now() / 1000),
    data: reading.data ?? { seq: Number(reading.counter % 1000n), t: 21.5 },
  });
  const signed = await provisioned.board.keys.signCose(TELEMETRY_KEY_ID, payload);
  if (!signed.ok) throw new Error(`the board refused to sign: ${signed.error.message}`);
  return signed.value;
}

/** Messages for counters first … first+count−1, signed by the board in order. */
export async function signRange(provisioned: Pick<ProvisionedBoard, 'board' | 'deviceId'>, first: bigint, count: number): Promise<Uint8Array[]> {
  const messages: Uint8Array[] = [];
  for (let i = 0; i < count; i++) messages.push(await signTelemetry(provisioned, { counter: first + BigInt(i) }));
  return messages;
}

export function telemetryTopic(deviceId: string): string {
  return `imprint/${deviceId}/telemetry`;
}

export class TelemetryPublisher {
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string): Promise<TelemetryPublisher> {
    return new TelemetryPublisher(await connectAsync(url, { clientId: `imprint-publisher-${Math.random().toString(16).slice(2, 10)}`, clean: true }, false));
  }

  /** Publishes each message to `topic`, QoS 1, resolving when the broker has acknowledged all. */
  async publish(topic: string, messages: readonly Uint8Array[]): Promise<void> {
    await Promise.all(messages.map((message) => this.client.publishAsync(topic, Buffer.from(message), { qos: 1 })));
  }

  close(): Promise<void> {
    return this.client.endAsync();
  }
}

async function main(args: string[]): Promise<void> {
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 && args[at + 1] ? args[at + 1]! : fallback;
  };
  const broker = option('broker', 'mqtt://127.0.0.1:1883');
  const count = Number(option('count', '10'));
  const out = option('out', '.');
  const provisioned = await provisionSimulatedBoard();
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'chain.pem'), provisioned.chainPem);
  writeFileSync(path.join(out, 'root.pem'), provisioned.rootPem);
  process.stdout.write(`device ${provisioned.deviceId}: chain.pem and root.pem in ${out}; signing ${count} messages\n`);
  const messages = await signRange(provisioned, 1n, count);
  const publisher = await TelemetryPublisher.connect(broker);
  await publisher.publish(telemetryTopic(provisioned.deviceId), messages);
  await publisher.close();
  await provisioned.close();
  process.stdout.write(`published ${count} messages to ${telemetryTopic(provisioned.deviceId)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((caught: unknown) => {
    process.stderr.write(`${caught instanceof Error ? caught.message : String(caught)}\n`);
    process.exit(1);
  });
}
