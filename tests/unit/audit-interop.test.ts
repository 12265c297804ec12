/**
 * An export checked by code that shares nothing with ours: tests/unit/support/verify_audit_export.py,
 * written from docs/audit-format.md, with its own canonical CBOR encoder, hashlib and
 * python3-cryptography (ECDSA P-256). Skipped, with the reason, where python3-cryptography is missing.
 */
import 'fake-indexeddb/auto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportText, openTestLog, provision } from './support/audit-fixture';

const SCRIPT = path.resolve(__dirname, 'support/verify_audit_export.py');
const python = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' });
const missing = python.error ? 'python3 is not installed' : python.status !== 0 ? 'python3-cryptography is not installed' : null;

describe.skipIf(missing !== null)(`independent Python verifier${missing ? ` (skipped: ${missing})` : ''}`, () => {
  function pythonVerify(text: string): { code: number; out: string } {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-py-')), 'export.jsonl');
    fs.writeFileSync(file, text);
    try {
      return { code: 0, out: execFileSync('python3', [SCRIPT, file], { encoding: 'utf8' }) };
    } catch (caught) {
      const failed = caught as { status: number; stdout: string };
      return { code: failed.status, out: failed.stdout };
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  }

  it('accepts our export: chain, RFC 6962 roots, checkpoint and header signatures', async () => {
    const log = await openTestLog({ checkpointEvery: 3 });
    await provision(log, 6); // 12 records, non-ASCII below
    await log.intent({ action: 'keys.generate', operator: 'Zoë Ærø 测试', details: { note: 'ünïcödé', alg: 'p256' } });
    const text = await exportText(log);
    log.close();
    expect(pythonVerify(text)).toEqual({ code: 0, out: 'ok 13 5\n' });
  });

  it('and rejects an edited record and a forged signature, as we do', async () => {
    const log = await openTestLog({ checkpointEvery: 4 });
    await provision(log, 3);
    const text = await exportText(log);
    log.close();
    expect(pythonVerify(text.replace('"operator":"alice"', '"operator":"mallory"'))).toEqual({ code: 1, out: 'seq 1: entryHash mismatch\n' });
    const lines = text.split('\n');
    const index = lines.findIndex((line) => line.includes('"type":"checkpoint"'));
    lines[index] = lines[index]!.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === '0' ? '1' : '0'}`);
    expect(pythonVerify(lines.join('\n'))).toEqual({ code: 1, out: 'checkpoint 4: bad signature\n' });
  });
});
