import { describe, expect, test } from 'vitest';
import { KnownSecrets } from '../../src/lib/audit';
import { auditLogSink } from '../../src/lib/provisioning';
import { bytesToBase64, bytesToHex } from '../../src/lib/util/bytes';
import type { AuditLog } from '../../src/lib/audit';

const secret = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

describe('KnownSecrets holds', () => {
  test('a secret held twice stays guarded until both holds are released', () => {
    const secrets = new KnownSecrets();
    expect(secrets.add(secret, 'known value')).toBe(true);
    expect(secrets.add(secret, 'known value')).toBe(true);
    secrets.remove(secret);
    expect(secrets.findIn(`x ${bytesToHex(secret).toUpperCase()} y`)).toBe('known value');
    expect(secrets.findIn(bytesToBase64(secret))).toBe('known value');
    secrets.remove(secret);
    expect(secrets.findIn(bytesToHex(secret))).toBeNull();
    expect(secrets.size).toBe(0);
  });

  test('runs in parallel into one log: one run ending does not drop the other run’s guard', () => {
    const knownSecrets = new KnownSecrets();
    const log = { knownSecrets } as unknown as AuditLog;
    const first = auditLogSink(log);
    const second = auditLogSink(log);
    const other = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    first.holdSecret?.(secret, 'run 1 key');
    second.holdSecret?.(secret, 'run 2 key');
    second.holdSecret?.(other, 'run 2 other key');
    first.releaseSecrets?.();
    expect(knownSecrets.findIn(bytesToHex(secret))).not.toBeNull();
    expect(knownSecrets.findIn(bytesToHex(other))).toBe('run 2 other key');
    second.releaseSecrets?.();
    expect(knownSecrets.size).toBe(0);
    // The caller's bytes are left alone; only the sink's own copies are wiped.
    expect(secret[0]).toBe(1);
  });
});
