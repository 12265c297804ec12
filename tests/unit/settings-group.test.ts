/**
 * Zephyr's settings group (3): the typed client (src/lib/device/settings.ts) against the simulated
 * board's implementation (src/lib/sim/groups/settings.ts), modelled on Zephyr's settings_mgmt.c:
 * read/write reach runtime values, save persists them, a reboot reloads what was saved, and every
 * refusal arrives as the group's code in v2 and as Zephyr's translated `rc` in v1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, COMMANDS, connectBoard, runCommand } from '../../src/lib/device';
import { connectSimulatedBoard, createStandardSimulatedDevice, type SimSettingsOptions, type StandardSimulatedDevice } from '../../src/lib/sim';
import { sleep } from '../../src/lib/sim/board';
import { describeCommand, MGMT_ERR, MGMT_GROUP_ID, SETTINGS_MGMT_ERR, SETTINGS_MGMT_ID, SMP_VERSION, type SmpVersion } from '../../src/lib/smp/ids';
import { utf8 } from '../../src/lib/util/bytes';

const boards: Board[] = [];
afterEach(async () => {
  await Promise.all(boards.splice(0).map((board) => board.close()));
});

async function open(options: { version?: SmpVersion; settings?: SimSettingsOptions } = {}): Promise<StandardSimulatedDevice & { client: Board }> {
  const device = createStandardSimulatedDevice({ bootMs: 20, settings: options.settings });
  const client = await connectBoard(connectSimulatedBoard(device.board, { baudRate: Infinity }), { timeoutMs: 500, version: options.version });
  boards.push(client);
  return { ...device, client };
}

async function rebooted(device: StandardSimulatedDevice): Promise<void> {
  device.board.reboot();
  await sleep(device.board.bootMs + 30);
}

describe('settings group', () => {
  it('names its commands as Zephyr does', () => {
    expect(SETTINGS_MGMT_ID).toEqual({ READ_WRITE: 0, DELETE: 1, COMMIT: 2, LOAD_SAVE: 3 });
    expect(describeCommand(MGMT_GROUP_ID.SETTINGS, SETTINGS_MGMT_ID.LOAD_SAVE)).toBe('settings/load-save');
  });

  it('writes, reads, saves and survives a reboot only once saved', async () => {
    const device = await open();
    const { settings } = device.client;
    expect(await settings.write('app/name', utf8.encode('imprint'))).toEqual({ ok: true, value: undefined });
    expect(await settings.read('app/name')).toEqual({ ok: true, value: { val: utf8.encode('imprint') } });
    await rebooted(device);
    expect((await settings.read('app/name')).ok).toBe(false); // runtime only: gone

    expect((await settings.write('app/name', utf8.encode('imprint'))).ok).toBe(true);
    expect((await settings.save()).ok).toBe(true);
    await rebooted(device);
    expect(await settings.read('app/name')).toEqual({ ok: true, value: { val: utf8.encode('imprint') } });

    expect((await settings.write('app/name', utf8.encode('changed'))).ok).toBe(true);
    expect((await settings.load()).ok).toBe(true); // back to what storage holds
    expect(await settings.read('app/name')).toEqual({ ok: true, value: { val: utf8.encode('imprint') } });

    expect((await settings.commit()).ok).toBe(true);
    expect(device.settings.commits()).toBe(1);
    expect((await settings.delete('app/name')).ok).toBe(true);
    expect(device.settings.stored.has('app/name')).toBe(false);
    expect((await settings.delete('app/name')).ok).toBe(true); // deleting again is not an error
  });

  it('cuts a read to max_size and says when the board limits it', async () => {
    const device = await open({ settings: { valueLength: 8 } });
    expect((await device.client.settings.write('app/v', utf8.encode('12345678'))).ok).toBe(true);
    expect(await device.client.settings.read('app/v', { maxSize: 4 })).toEqual({ ok: true, value: { val: utf8.encode('1234') } });
    expect(await device.client.settings.read('app/v', { maxSize: 100 })).toEqual({ ok: true, value: { val: utf8.encode('12345678'), maxSize: 8 } });
    expect(await device.client.settings.write('app/v', new Uint8Array(9))).toMatchObject({ ok: false, error: { reason: 'unknown' } });
  });

  it.each([
    ['v2', SMP_VERSION.V2],
    ['v1', SMP_VERSION.V1],
  ] as const)('refuses in %s with the group code or its translated rc', async (_name, version) => {
    const device = await open({ version, settings: { nameLength: 16, roots: ['app'] } });
    const { settings } = device.client;
    const v2 = version === SMP_VERSION.V2;
    const expectRefusal = (result: { ok: boolean; error?: { code: string; rc?: number; reason?: string } }, code: number, v1Rc: number) => {
      expect(result.ok).toBe(false);
      if (v2) expect(result.error).toMatchObject({ code: 'group', rc: code, reason: Object.entries(SETTINGS_MGMT_ERR).find(([, rc]) => rc === code)![0].toLowerCase().replace(/_/g, '-') });
      else expect(result.error).toMatchObject({ code: 'mgmt', rc: v1Rc });
    };
    expectRefusal(await settings.read('app/missing'), SETTINGS_MGMT_ERR.KEY_NOT_FOUND, MGMT_ERR.ENOENT);
    expectRefusal(await settings.read('app/a-name-far-too-long'), SETTINGS_MGMT_ERR.KEY_TOO_LONG, MGMT_ERR.EINVAL);
    expectRefusal(await settings.write('other/x', new Uint8Array([1])), SETTINGS_MGMT_ERR.ROOT_KEY_NOT_FOUND, MGMT_ERR.EUNKNOWN);
    // A missing name is a plain EINVAL, as Zephyr's handlers answer before any group code.
    expect(await runCommand(device.client.client, COMMANDS.settingsRead, {})).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.EINVAL } });
    expect(await runCommand(device.client.client, COMMANDS.settingsWrite, { name: 'app/x' })).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.EINVAL } });
  });

  it('fails a save when storage fails, keeping what was stored before', async () => {
    const device = await open();
    expect((await device.client.settings.write('app/x', new Uint8Array([1]))).ok).toBe(true);
    device.settings.inject({ failNextSave: true });
    expect(await device.client.settings.save()).toMatchObject({ ok: false, error: { reason: 'unknown' } });
    expect(device.settings.stored.size).toBe(0);
    expect((await device.client.settings.save()).ok).toBe(true);
    expect(device.settings.stored.size).toBe(1);
  });
});
