/**
 * The Audit page's records table (AuditTable) over fake-indexeddb: the whole log read in chunks,
 * filters by serial/device, station, result and date, the chain check that passes on a clean log
 * and points at the first bad record of a tampered one (edited field, deleted record, a checkpoint
 * that no longer matches), with progress and yields; and the verification of imported files
 * (inline here; a Worker in the browser): a good export, a truncated one, a file that is not an
 * export, a file too large to read.
 */
import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../src/lib/audit';
import { AuditTable, AuditTrail, checkLocalChain, filterRecords, MAX_IMPORT_BYTES, NO_FILTERS, type PickedFile } from '../../src/lib/state';
import { utf8 } from '../../src/lib/util/bytes';
import { exportText, freshDbName, openTestLog, provision } from './support/audit-fixture';

async function filled(runs: number, checkpointEvery = 10) {
  const dbName = freshDbName();
  const log = await openTestLog({ dbName, checkpointEvery });
  await provision(log, runs);
  const table = new AuditTable(async () => log);
  return { log, table, dbName };
}

async function editStored(dbName: string, seq: number, change: (record: StoredRecord) => void): Promise<void> {
  const db = await openDB(dbName);
  const tx = db.transaction('records', 'readwrite');
  const record = (await tx.store.get(seq)) as StoredRecord;
  change(record);
  await tx.store.put(record);
  await tx.done;
  db.close();
}

describe('AuditTable', () => {
  it('reads every record (more than one chunk), newest first, and the chain checks out', async () => {
    const { log, table } = await filled(30);
    await table.load();
    expect(table.all).toHaveLength(60);
    expect(table.rows).toHaveLength(60);
    expect(table.row(0)!.seq).toBe(60);
    expect(table.row(59)!.seq).toBe(1);
    expect(table.chain).toMatchObject({ state: 'ok', records: 60, checkpoints: 6 });
    // New records arrive: only those are read.
    await provision(log, 1, 31);
    await table.load();
    expect(table.all).toHaveLength(62);
    expect(table.row(0)!.seq).toBe(62);
    log.close();
  });

  it('filters by serial or device id, station, result and date', async () => {
    const { log, table } = await filled(12);
    await table.load();
    table.filters.serial = 'sn-000003';
    expect(table.rows.map((i) => table.all[i]!.seq)).toEqual([6, 5]);
    table.filters.serial = 'dev-12';
    expect(table.rows).toHaveLength(2);
    table.clearFilters();
    table.filters.result = 'ok';
    expect(table.rows).toHaveLength(12);
    table.filters.result = 'intent';
    expect(table.rows.every((i) => table.all[i]!.phase === 'intent')).toBe(true);
    table.filters.result = 'failed';
    expect(table.rows).toHaveLength(0);
    table.clearFilters();
    table.filters.station = log.stationId.slice(2, 8);
    expect(table.rows).toHaveLength(24);
    table.filters.station = 'ffffffffffffffff';
    expect(table.rows).toHaveLength(0);
    table.clearFilters();
    table.filters.from = '2025-06-02';
    expect(table.rows).toHaveLength(0);
    table.filters.from = '2025-06-01';
    table.filters.to = '2025-06-01';
    expect(table.rows).toHaveLength(24);
    expect(table.filtered).toBe(true);
    log.close();
  });

  it('an edited record: the badge points at it, and focusing it clears the filters that hide it', async () => {
    const { log, table, dbName } = await filled(20);
    await editStored(dbName, 17, (record) => (record.boardSerial = 'SN-666666'));
    await table.load();
    expect(table.chain).toMatchObject({ state: 'broken', seq: 17 });
    table.filters.serial = 'SN-000001';
    table.focus(17);
    expect(table.filtered).toBe(false);
    expect(table.focusSeq).toBe(17);
    expect(table.rowOf(17)).toBe(40 - 17);
    log.close();
  });

  it('an edited entryHash chain rewritten after it is still caught by the signed checkpoint', async () => {
    const { log, table } = await filled(10, 5);
    await table.load();
    // Rewrite record 3 and recompute every entryHash after it: only the checkpoint roots can tell.
    const records = table.all.map((record) => ({ ...record }));
    records[2]!.operator = 'mallory';
    const { chainHash, canonicalRecordBytes, GENESIS_PREV_HASH } = await import('../../src/lib/audit');
    const { bytesToHex } = await import('../../src/lib/util/bytes');
    let prev = GENESIS_PREV_HASH;
    for (const record of records) {
      const { entryHash: _, ...rest } = record;
      prev = chainHash(prev, canonicalRecordBytes(rest));
      record.entryHash = bytesToHex(prev);
    }
    const checkpoints = await log.checkpoints();
    const status = await checkLocalChain(records, checkpoints.ok ? checkpoints.value : [], log.station.keys.publicKey);
    expect(status).toMatchObject({ state: 'broken', seq: 5 });
    expect((status as { reason: string }).reason).toContain('tree size 5');
    log.close();
  });

  it('a deleted record and a lost tail are named', async () => {
    const { log, table } = await filled(10, 5);
    await table.load();
    const gap = table.all.filter((record) => record.seq !== 4);
    const checkpoints = (await log.checkpoints()) as { ok: true; value: [] };
    expect(await checkLocalChain(gap, checkpoints.value, null)).toMatchObject({ state: 'broken', seq: 4 });
    expect(await checkLocalChain(table.all.slice(0, 7), checkpoints.value, null)).toMatchObject({ state: 'broken', seq: 8 });
    log.close();
  });

  it('checks in chunks, reporting progress and yielding between them', async () => {
    const { log, table } = await filled(25);
    await table.load();
    const progress: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const status = await checkLocalChain(table.all, [], null, (n) => progress.push(n), 10);
    clearInterval(timer);
    expect(status.state).toBe('ok');
    expect(progress).toEqual([10, 20, 30, 40, 50, 50]);
    expect(ticks).toBeGreaterThan(0);
    log.close();
  });

  it('filters 100,000 records quickly', () => {
    const records = Array.from({ length: 100_000 }, (_, i) => ({ seq: i + 1, time: '2025-06-01T10:00:00.000Z', stationId: '0123456789abcdef', appBuild: 'b', boardSerial: `SN-${i}`, action: 'keys.generate', phase: i % 2 ? 'outcome' : 'intent', result: i % 2 ? 'ok' : undefined, entryHash: '' }) as StoredRecord);
    const started = performance.now();
    expect(filterRecords(records, NO_FILTERS)).toHaveLength(100_000);
    expect(filterRecords(records, { ...NO_FILTERS, serial: 'sn-9999' })).toHaveLength(11);
    const ms = performance.now() - started;
    console.log(`filter 100k twice: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(500);
  });
});

describe('importing files to verify (inline; a Worker in the browser)', () => {
  const file = (name: string, text: string): PickedFile => ({ name, bytes: utf8.encode(text) });
  const trail = () => new AuditTrail({ appBuild: '0.1.0+test', dbName: freshDbName(), verifyInWorker: false });

  it('a good export verifies; a truncated one and a non-export are named clearly', async () => {
    const log = await openTestLog({ checkpointEvery: 4 });
    await provision(log, 5);
    const text = await exportText(log);
    const audit = trail();
    const progress: string[] = [];
    const verifying = audit.verifyFiles([file('good.jsonl', text)]);
    expect(audit.busy.verify).toBe(true);
    expect(audit.verifyProgress).not.toBeNull();
    progress.push(audit.verifyProgress!.stage);
    expect((await verifying)!.ok).toBe(true);
    expect(audit.verifyProgress).toBeNull();
    expect(audit.report!.recordCount).toBe(10);

    await audit.verifyFiles([file('cut.jsonl', text.slice(0, Math.floor(text.length * 0.6)))]);
    expect(audit.report!.ok).toBe(false);
    expect(audit.report!.lines.join('\n')).toMatch(/malformed|truncated/);

    await audit.verifyFiles([file('photo.jpg', '\xff\xd8\xff\xe0 not json at all')]);
    expect(audit.report!.problems.map((p) => p.kind)).toEqual(['not-an-export']);
    expect(audit.report!.lines[0]).toContain('not an Imprint audit export');
    log.close();
  });

  it('a file larger than the limit is refused at once; a running verification can be cancelled', async () => {
    const audit = trail();
    const huge = { name: 'huge.jsonl', bytes: { byteLength: MAX_IMPORT_BYTES + 1 } as Uint8Array };
    expect(await audit.verifyFiles([huge])).toBeNull();
    expect(audit.errors.verify).toMatch(/huge\.jsonl is 512 MB: larger than/);
    const running = audit.verifyFiles([file('a.jsonl', '{"type":"header"}')]);
    audit.cancelVerify();
    expect(await running).toBeNull();
    expect(audit.errors.verify).toBe('Verification cancelled.');
    expect(audit.busy.verify).toBe(false);
  });
});
