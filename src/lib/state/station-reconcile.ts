/**
 * The station's reconciliation of an interrupted run (see `ReconcileIntents` in src/lib/station):
 * the board is re-read once (`keys/info`, `keys/list`) and each open intent of its serial is
 * closed with what the board holds — the Audit page's rules (reconcile.ts), applied to one board.
 * A board that cannot be re-read (no keys group, no answer) gets `unknown` outcomes that say why;
 * a `registry.register` intent is closed with what the device registry holds.
 */
import type { ReconcileIntents } from '../station';
import { describeKeys, isRegistryIntent, readBoardSnapshot, readRegisteredCertificates, reconcileOutcome, registryOutcome, unknownOutcome } from './reconcile';

export const reconcileStationIntents: ReconcileIntents = async (board, intents, audit) => {
  const snapshot = await readBoardSnapshot(board);
  const registered = intents.some(isRegistryIntent) ? await readRegisteredCertificates() : null;
  let closed = 0;
  for (const intent of intents) {
    const outcome = isRegistryIntent(intent)
      ? registryOutcome(intent, registered)
      : snapshot.ok
        ? reconcileOutcome(intent, snapshot.value)
        : unknownOutcome(`the board could not be re-read after the interruption: ${snapshot.message}`);
    const written = await audit.log.outcome(intent.seq, outcome);
    if (!written.ok) return { closed, message: `intent ${intent.seq}: ${written.error.message}` };
    closed++;
  }
  const what = snapshot.ok ? `device ${snapshot.value.deviceId} holds ${describeKeys(snapshot.value.keys)}` : `closed as unknown: ${snapshot.message}`;
  return { closed, message: `${closed} open intent${closed === 1 ? '' : 's'} reconciled; ${what}` };
};
