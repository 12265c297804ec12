/**
 * The provisioning flow's `AuditSink` over the app's audit log (`src/lib/audit`): each intent and
 * outcome is one strict IndexedDB transaction in the hash chain; the secrets a run holds are
 * registered with the log's guard for as long as the run holds them. Make one sink per run: runs
 * in parallel into one log each release only their own secrets.
 */
import type { AuditLog } from '../audit';
import { type Result, ok } from '../smp/result';
import type { AuditFields, AuditOutcomeResult, AuditSink, AuditSinkError } from './audit';

/** Longest `errorMessage` the log takes (`RECORD_FIELDS.errorMessage`). */
const ERROR_MESSAGE_MAX = 1024;

/**
 * @example const log = await openAuditLog({ appBuild }); if (log.ok) await runProvisioning({ …, audit: auditLogSink(log.value) });
 */
export function auditLogSink(log: AuditLog): AuditSink {
  const held: Uint8Array[] = [];
  return {
    async intent(action: string, fields: AuditFields): Promise<Result<number, AuditSinkError>> {
      const stored = await log.intent({ action, ...clean(fields) });
      return stored.ok ? ok(stored.value.seq) : stored;
    },
    async outcome(intentSeq: number, result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, AuditSinkError>> {
      const stored = await log.outcome(intentSeq, { ...clean(fields), result });
      return stored.ok ? ok(undefined) : stored;
    },
    holdSecret(secret: Uint8Array, label: string): void {
      if (log.knownSecrets.add(secret, label)) held.push(secret.slice());
    },
    releaseSecrets(): void {
      for (const secret of held.splice(0)) {
        log.knownSecrets.remove(secret);
        secret.fill(0);
      }
    },
  };
}

/** The log refuses empty text and over-long messages: drop the one, cut the other. */
function clean(fields: AuditFields): AuditFields {
  const out: AuditFields = {};
  for (const [name, value] of Object.entries(fields) as [keyof AuditFields, AuditFields[keyof AuditFields]][]) {
    if (value === undefined || value === '') continue;
    (out as Record<string, unknown>)[name] = name === 'errorMessage' && typeof value === 'string' && value.length > ERROR_MESSAGE_MAX ? `${value.slice(0, ERROR_MESSAGE_MAX - 1)}…` : value;
  }
  return out;
}
