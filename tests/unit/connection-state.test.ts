// The connection state class, driven against the simulated board in Node (no browser, no DOM).
import { describe, expect, test } from 'vitest';
import { Connection, SmpLog, formatCbor, type Platform } from '../../src/lib/state';
import { BLE_1M_DEFAULT, connectSimulatedBoard, createSimulatedDevice, type FaultPlan, type SimulatedDevice } from '../../src/lib/sim';
import { TransportFailure } from '../../src/lib/transport';
import type { SmpExchange } from '../../src/lib/smp';

const USB_IDS = { usbVendorId: 0x2fe3, usbProductId: 0x0100 };

interface TestPlatform extends Platform {
  devices: SimulatedDevice[];
}

/** The real simulated board behind both device kinds; serial ports are plain objects with USB ids. */
function testPlatform(options: { faults?: FaultPlan; baudRate?: number; chooser?: () => Promise<SerialPort | null> } = {}): TestPlatform {
  const devices: SimulatedDevice[] = [];
  const open = (description?: string) => {
    const device = createSimulatedDevice();
    if (options.faults) device.board.faults.inject(options.faults);
    devices.push(device);
    return { device, transport: connectSimulatedBoard(device.board, { baudRate: options.baudRate ?? Infinity, description }) };
  };
  const port = { getInfo: () => USB_IDS } as unknown as SerialPort;
  return {
    devices,
    openSimulated: () => open(),
    isSerialSupported: () => true,
    isBluetoothSupported: () => false,
    grantedSerialPorts: async () => [port],
    requestSerialPort: options.chooser ?? (async () => port),
    openSerial: async (_port, baudRate) => open(`USB serial 2fe3:0100 at ${baudRate} baud`).transport,
    describeSerialPort: () => 'USB serial 2fe3:0100',
    watchSerialPorts: () => () => {},
    isUsbSupported: () => true,
    async openBluetooth() {
      const device = createSimulatedDevice();
      devices.push(device);
      const transport = connectSimulatedBoard(device.board, { ble: { ...BLE_1M_DEFAULT, connectionIntervalMs: 1 }, description: 'imprint-sim over BLE' });
      return { transport, name: 'imprint-sim', onBoardBuffer: (bufSize: number) => bleBuffers.push(bufSize) };
    },
    openUsb: async () => null,
    grantedUsbDevices: async () => [],
    describeUsbDevice: () => 'USB CDC-ACM 2fe3:0100',
  };
}

/** Board buffer sizes the BLE link was told about, in order. */
const bleBuffers: number[] = [];

describe('Connection', () => {
  test('connects over Bluetooth LE and tells the link the board buffer size; a cancelled USB chooser is reported', async () => {
    const connection = new Connection({ platform: testPlatform() });
    expect(await connection.connect('ble')).toBe(true);
    expect(connection.description).toBe('imprint-sim over BLE');
    expect(bleBuffers.at(-1)).toBe(2048);
    expect((await connection.echo('over the air')).ok).toBe(true);
    await connection.disconnect();
    expect(await connection.connect('usb')).toBe(false);
    expect(connection.status).toBe('idle');
    expect(connection.errors.connect).toBe('No USB device was chosen.');
  });

  test('connects to the simulated board and reads identity and image slots', async () => {
    const platform = testPlatform({ baudRate: 115200 });
    const connection = new Connection({ platform });
    expect(connection.status).toBe('idle');
    expect(await connection.connect('sim')).toBe(true);
    expect(connection.status).toBe('connected');
    expect(connection.isConnected).toBe(true);
    expect(connection.deviceName).toBe('imprint-sim');
    expect(connection.description).toBe('simulated board at 115200 baud');
    const { params, info, bootloader } = connection.identity;
    expect(params?.ok && params.value).toEqual({ bufSize: 2048, bufCount: 4 });
    expect(info?.ok && info.value).toMatch(/^Zephyr imprint-sim /);
    expect(bootloader?.ok && bootloader.value).toEqual({ bootloader: 'MCUboot', mode: 1 });
    expect(connection.images?.map((slot) => [slot.slot, slot.version, slot.active])).toEqual([
      [0, '1.0.0', true],
      [1, '1.1.0', false],
    ]);
    expect(connection.log.entries.length).toBeGreaterThanOrEqual(8);
    expect(connection.log.entries[0]).toMatchObject({ direction: 'tx', command: 'os/mcumgr-params', op: 'read' });
    expect(connection.busy).toEqual({ connect: false, images: false });
  });

  test('echo records the reply, its round trip and both packets in the log', async () => {
    const connection = new Connection({ platform: testPlatform() });
    await connection.connect('sim');
    connection.log.clear();
    const reply = await connection.echo('hello');
    expect(reply).toEqual({ ok: true, value: 'hello' });
    expect(connection.lastEcho).toMatchObject({ sent: 'hello', reply: 'hello' });
    expect(connection.lastEcho!.ms).toBeGreaterThanOrEqual(0);
    expect(connection.log.entries.map((entry) => [entry.direction, entry.command, entry.op])).toEqual([
      ['tx', 'os/echo', 'write'],
      ['rx', 'os/echo', 'write-rsp'],
    ]);
    const text = connection.log.toText();
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ⇢ os\/echo write seq \d+, \d+ B\n\{\n {2}"d": "hello"\n\}\n/);
    expect(text).toContain('⇠ os/echo write-rsp');
    expect(text).toContain('"r": "hello"');
  });

  test('test, confirm and a refused erase update slots and report the typed error', async () => {
    const connection = new Connection({ platform: testPlatform() });
    await connection.connect('sim');
    const secondary = connection.images![1]!;
    expect((await connection.testImage(secondary.hash)).ok).toBe(true);
    expect(connection.images![1]).toMatchObject({ pending: true, permanent: false });
    expect((await connection.confirmImage(secondary.hash)).ok).toBe(true);
    expect(connection.images![1]).toMatchObject({ pending: true, permanent: true });
    const erased = await connection.eraseImage();
    expect(erased.ok).toBe(false);
    expect(connection.errors.images).toBe('image/erase: image error 9 (no free slot)');
    expect(connection.error).toBe(connection.errors.images);
    expect(connection.status).toBe('connected');
    connection.dismissError('images');
    expect(connection.errors.images).toBeUndefined();
  });

  test('erase empties slot 1 and the list is read again', async () => {
    const connection = new Connection({ platform: testPlatform() });
    await connection.connect('sim');
    expect((await connection.eraseImage()).ok).toBe(true);
    expect(connection.images?.map((slot) => slot.slot)).toEqual([0]);
  });

  test('a board-side disconnect ends pending calls with a message and leaves no busy flag', async () => {
    const platform = testPlatform();
    const connection = new Connection({ platform });
    await connection.connect('sim');
    platform.devices[0]!.board.faults.inject({ dropResponses: 1 });
    const pending = connection.echo('never answered');
    await Promise.resolve();
    expect(connection.busy.echo).toBe(true);
    connection.simulated!.board.disconnect();
    const result = await pending;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('disconnected');
    expect(connection.status).toBe('disconnected');
    expect(connection.disconnectMessage).toBe('Connection lost: simulated board at Infinity baud: the other end went away.');
    expect(connection.errors.echo).toMatch(/^os\/echo: the connection ended before the board answered/);
    expect(connection.busy.echo).toBeFalsy();
    const after = await connection.echo('again');
    expect(!after.ok && after.error.code).toBe('not-connected');
    expect(connection.errors.echo).toBe(`Not connected: ${connection.disconnectMessage}`);
  });

  test('disconnect() at the operator’s request says so without an error', async () => {
    const connection = new Connection({ platform: testPlatform() });
    await connection.connect('sim');
    await connection.disconnect();
    expect(connection.status).toBe('disconnected');
    expect(connection.disconnectMessage).toBe('Disconnected from simulated board at Infinity baud.');
    expect(connection.error).toBeNull();
  });

  test('a board that never answers fails the connect with the client’s timeout message', async () => {
    const connection = new Connection({ platform: testPlatform({ faults: { dropRequests: 100 } }), client: { timeoutMs: 100 } });
    expect(await connection.connect('sim')).toBe(false);
    expect(connection.status).toBe('error');
    expect(connection.errors.connect).toMatch(/^os\/mcumgr-params: no response in .+ — is the board running the SMP server on this simulated board at Infinity baud\?$/);
    expect(connection.board).toBeNull();
    expect(connection.busy.connect).toBeFalsy();
  });

  test('serial: granted ports, a cancelled chooser and a failing chooser', async () => {
    const granted = new Connection({ platform: testPlatform() });
    await granted.loadGrantedPorts();
    expect(granted.grantedPorts.map((port) => granted.describePort(port))).toEqual(['USB serial 2fe3:0100']);
    granted.baudRate = 230400;
    expect(await granted.connect('serial', { port: granted.grantedPorts[0] })).toBe(true);
    expect(granted.kind).toBe('serial');
    expect(granted.deviceName).toBe('USB serial 2fe3:0100');
    expect(granted.description).toBe('USB serial 2fe3:0100 at 230400 baud');

    const cancelled = new Connection({ platform: testPlatform({ chooser: async () => null }) });
    expect(await cancelled.connect('serial')).toBe(false);
    expect(cancelled.status).toBe('idle');
    expect(cancelled.errors.connect).toBe('No serial port was chosen.');

    const failing = new Connection({
      platform: testPlatform({
        chooser: async () => {
          throw new TransportFailure({ code: 'not-supported', message: 'this browser has no WebSerial' });
        },
      }),
    });
    expect(await failing.connect('serial')).toBe(false);
    expect(failing.status).toBe('error');
    expect(failing.errors.connect).toBe('this browser has no WebSerial');
  });

  test('reset waits for the board to come back and reads the swapped slots', async () => {
    const connection = new Connection({ platform: testPlatform(), resetSettleMs: 50 });
    await connection.connect('sim');
    await connection.testImage(connection.images![1]!.hash);
    const result = await connection.reset();
    expect(result.ok).toBe(true);
    expect(connection.resetNote).toBe('The board restarted and answers again.');
    expect(connection.busy.reset).toBe(false);
    // MCUboot swapped the tested image in: it runs now, unconfirmed.
    expect(connection.images?.[0]).toMatchObject({ slot: 0, version: '1.1.0', active: true, confirmed: false });
  });

  test('a new connection forgets the previous session and ignores the old link', async () => {
    const platform = testPlatform();
    const connection = new Connection({ platform });
    await connection.connect('sim');
    await connection.echo('first');
    await connection.connect('sim');
    expect(connection.lastEcho).toBeNull();
    expect(connection.log.entries.some((entry) => entry.command === 'os/echo')).toBe(false);
    platform.devices[0]!.board.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(connection.status).toBe('connected');
  });

  test('methods refuse politely before any connection', async () => {
    const connection = new Connection({ platform: testPlatform() });
    const result = await connection.refreshImages();
    expect(!result.ok && result.error.code).toBe('not-connected');
    expect(connection.errors.images).toBe('Not connected: connect to a board first.');
    expect(await connection.refreshIdentity()).toBeNull();
  });
});

describe('SmpLog', () => {
  const exchange = (seq: number): SmpExchange => ({
    time: Date.UTC(2026, 0, 1, 12, 0, 0, seq),
    direction: 'tx' as const,
    header: { version: 1 as const, op: 2, flags: 0, length: 0, group: 0, seq, command: 0 },
    command: 'os/echo',
    payload: { d: `n${seq}` },
    size: 8,
  });

  test('keeps the newest entries up to its limit and says how many fell off', () => {
    const log = new SmpLog(3);
    for (let seq = 0; seq < 5; seq++) log.add(exchange(seq));
    expect(log.entries.map((entry) => entry.seq)).toEqual([2, 3, 4]);
    expect(log.dropped).toBe(2);
    expect(log.toText().split('\n')[0]).toBe('(2 earlier entries not kept)');
    log.clear();
    expect(log.entries).toEqual([]);
    expect(log.toText()).toBe('');
  });
});

describe('formatCbor', () => {
  test('writes maps as JSON and bytes as hex', () => {
    expect(formatCbor({ hash: new Uint8Array([0xde, 0xad]), n: 1, big: 2n ** 70n, list: [true, null], empty: {} })).toBe(
      '{\n  "hash": h\'dead\',\n  "n": 1,\n  "big": 1180591620717411303424,\n  "list": [\n    true,\n    null\n  ],\n  "empty": {}\n}',
    );
  });

  test('cuts long byte strings and says how long they were', () => {
    const text = formatCbor(new Uint8Array(100).fill(0xab));
    expect(text).toBe(`h'${'ab'.repeat(64)}…' (100 bytes)`);
  });
});
