/**
 * The external-CA hand-off as state a page renders: collect CSRs from connected boards into a
 * pending batch (kept in IndexedDB across reloads), export it for the CA, import what the CA sent
 * back (matched by public key, see pki/external-ca.ts), and store a matched chain on its own board
 * — refused on any other board — read it back byte for byte and verify it to the chosen root.
 * Every step that touches a board is an audit intent before and an outcome after.
 */
import type { AuditLog } from '../audit';
import type { Board } from '../device';
import {
  type CertificateInput,
  certificateFingerprint,
  type CsrBatch,
  encodePem,
  exportCsrBatch,
  type ExportedCsrBatch,
  type ImportReport,
  type ParsedCertificate,
  importSignedCertificates,
  parseCsrBatch,
  spkiFingerprint,
  verifyChain,
  verifyCsr,
} from '../pki';
import { type DeviceRegistry, openDeviceRegistry, registerProvisioned, registrationNote, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { bytesToHex, concatBytes, equalBytes, utf8 } from '../util/bytes';
import type { AuditTrail } from './audit-trail.svelte';
import type { PickedFile } from './authorities.svelte';
import type { Connection } from './connection.svelte';
import { createCsrBatchStore, type CsrBatchStore, type PendingCsr } from './csr-batch-store';
import { keyIdHex } from './key-view';

export type ExternalCaScope = 'collect' | 'export' | 'import' | 'store';

type Audit = Pick<AuditTrail, 'open' | 'refreshIntents'>;

export class ExternalCaBatch {
  requests = $state.raw<PendingCsr[]>([]);
  report = $state.raw<ImportReport | null>(null);
  /** The batch the report was matched against (the pending one, or a batch file). */
  reportBatch = $state.raw<CsrBatch | null>(null);
  /** The root the report was checked against, kept for storing and verifying. */
  private trustRoot: CertificateInput | null = null;
  errors = $state<Partial<Record<ExternalCaScope, string>>>({});
  busy = $state<Partial<Record<ExternalCaScope, boolean>>>({});
  notice = $state<string | null>(null);
  /** The last store's verdict: read back identical, verified to which root. */
  storeNotice = $state<string | null>(null);
  private loaded: Promise<void> | null = null;

  constructor(
    private readonly connection: Connection,
    private readonly audit: Audit | null = null,
    private readonly store: CsrBatchStore = createCsrBatchStore(),
    private readonly openRegistry: () => Promise<Result<DeviceRegistry, RegistryError>> = () => openDeviceRegistry(),
  ) {}

  /** Reads the pending batch from IndexedDB (once). */
  load(): Promise<void> {
    return (this.loaded ??= this.store.load().then((requests) => {
      this.requests = requests;
    }));
  }

  /** Asks the connected board for a CSR over key `keyId`, verifies it and adds it to the batch. */
  async collect(keyId: number, subject: string): Promise<boolean> {
    await this.load();
    const board = this.connection.board;
    if (!board || !this.connection.isConnected) return this.refuse('collect', 'Not connected: connect to a board first.');
    this.busy.collect = true;
    delete this.errors.collect;
    this.notice = null;
    try {
      const deviceId = await readDeviceId(board);
      if (!deviceId.ok) return this.refuse('collect', deviceId.message);
      if (this.requests.some((request) => request.deviceId === deviceId.value)) return this.refuse('collect', `Device ${deviceId.value} is already in the batch: remove it first to collect a new CSR.`);
      const log = (await this.audit?.open()) ?? null;
      const intent = log ? await log.intent({ action: 'external-ca.csr', deviceId: deviceId.value, keyId: keyIdHex(keyId) }) : null;
      if (intent && !intent.ok) return this.refuse('collect', `The audit log refused the intent, so nothing was done: ${intent.error.message}`);
      const outcome = async (fields: Parameters<NonNullable<typeof log>['outcome']>[1]) => {
        if (log && intent?.ok) await log.outcome(intent.value.seq, fields);
        await this.audit?.refreshIntents();
      };
      const reply = await board.keys.csr(keyId, subject);
      if (!reply.ok) {
        await outcome({ result: 'failed', errorCode: reply.error.code, errorMessage: reply.error.message });
        return this.refuse('collect', `The board did not make the CSR: ${reply.error.message}`);
      }
      const csr = await verifyCsr(reply.value);
      if (!csr.ok) {
        await outcome({ result: 'failed', errorCode: csr.error.code, errorMessage: csr.error.message });
        return this.refuse('collect', `The board's CSR does not verify: ${csr.error.message}`);
      }
      const keyFingerprint = await spkiFingerprint(csr.value.publicKey.spki);
      await outcome({ result: 'ok', keyFingerprint, details: { subject: csr.value.subject.text } });
      const request: PendingCsr = { deviceId: deviceId.value, csr: encodePem('CERTIFICATE REQUEST', csr.value.der), subject: csr.value.subject.text, keyId, keyFingerprint, collectedAt: new Date().toISOString() };
      await this.store.save(request);
      this.requests = [...this.requests, request];
      this.notice = `CSR of device ${deviceId.value} (key ${keyIdHex(keyId)}) added to the batch.`;
      return true;
    } finally {
      this.busy.collect = false;
    }
  }

  async remove(deviceId: string): Promise<void> {
    await this.store.remove(deviceId);
    this.requests = this.requests.filter((request) => request.deviceId !== deviceId);
  }

  async clear(): Promise<void> {
    await this.store.clear();
    this.requests = [];
    this.report = null;
    this.reportBatch = null;
  }

  /** The batch JSON and PEM bundle to send to the CA; null (with the reason shown) when there is nothing to send. */
  async exportBatch(): Promise<ExportedCsrBatch | null> {
    await this.load();
    delete this.errors.export;
    const exported = await exportCsrBatch(this.requests.map(({ deviceId, csr }) => ({ deviceId, csr })));
    if (!exported.ok) {
      this.refuse('export', exported.error.message);
      return null;
    }
    return exported.value;
  }

  /**
   * Matches the certificates the CA sent back against the pending batch — or `batchJson`, a batch
   * file, when the pending batch was cleared. With `root`, every match must verify to it.
   */
  async importCertificates(input: { certificates: string; batchJson?: string; root?: CertificateInput }): Promise<boolean> {
    await this.load();
    this.busy.import = true;
    delete this.errors.import;
    try {
      const batch = input.batchJson !== undefined ? await parseCsrBatch(input.batchJson) : await this.pendingBatch();
      if (!batch.ok) return this.refuse('import', batch.error.message);
      const report = await importSignedCertificates({ batch: batch.value, certificates: input.certificates, ...(input.root ? { trust: { root: input.root } } : {}) });
      if (!report.ok) return this.refuse('import', report.error.message);
      this.report = report.value;
      this.reportBatch = batch.value;
      this.trustRoot = input.root ?? null;
      return true;
    } finally {
      this.busy.import = false;
    }
  }

  /** `importCertificates` from picked files: PEM bundles and DER certificates alike, an optional batch file and root. */
  async importFiles(input: { certificates: readonly PickedFile[]; batchFile?: PickedFile | null; root?: CertificateInput | null }): Promise<boolean> {
    if (input.certificates.length === 0) return this.refuse('import', 'Choose the file (or files) of certificates the CA sent back.');
    return this.importCertificates({
      certificates: input.certificates.map(certificateText).join('\n'),
      ...(input.batchFile ? { batchJson: utf8.decode(input.batchFile.bytes) } : {}),
      ...(input.root ? { root: input.root } : {}),
    });
  }

  /**
   * Stores the matched chain of `deviceId` on the connected board — only if that board is the
   * device — reads it back, compares byte for byte and verifies it to the root of the import.
   */
  async storeOnBoard(deviceId: string): Promise<boolean> {
    const board = this.connection.board;
    if (!board || !this.connection.isConnected) return this.refuse('store', 'Not connected: connect to the board of this device first.');
    const match = this.report?.matched.find((entry) => entry.deviceId === deviceId);
    const request = this.requests.find((entry) => entry.deviceId === deviceId);
    if (!match || !request) return this.refuse('store', `No matched certificate for device ${deviceId} in the pending batch.`);
    if (!this.trustRoot) return this.refuse('store', 'Pick the CA root the certificates must verify to, and import again: a chain is only stored once it verifies.');
    this.busy.store = true;
    delete this.errors.store;
    this.storeNotice = null;
    try {
      const connectedId = await readDeviceId(board);
      if (!connectedId.ok) return this.refuse('store', connectedId.message);
      if (connectedId.value !== deviceId) return this.refuse('store', `The connected board is device ${connectedId.value}, not ${deviceId}: connect the board this certificate was issued for.`);
      const verified = await verifyChain({ chain: [match.certificate, ...(this.report?.caCertificates ?? [])], root: this.trustRoot });
      if (!verified.ok) return this.refuse('store', `The chain does not verify to the root: ${verified.error.message}`);
      // Like provisioning: the device certificate and the CAs that issued it, the root left out
      // unless it is itself the issuing CA (a CA that signs devices with its root).
      const path = verified.value.path;
      const chain = concatBytes(...path.slice(0, Math.max(2, path.length - 1)).map((certificate) => certificate.der));
      const certFingerprint = await certificateFingerprint(match.certificate.der);
      const log = (await this.audit?.open()) ?? null;
      const fields = { deviceId, keyId: keyIdHex(request.keyId), keyFingerprint: request.keyFingerprint, certSerial: match.certificate.serialNumber, certFingerprint, details: { bytes: String(chain.length) } };
      const intent = log ? await log.intent({ action: 'keys.cert-store', ...fields }) : null;
      if (intent && !intent.ok) return this.refuse('store', `The audit log refused the intent, so nothing was done: ${intent.error.message}`);
      const problem = await storeAndReadBack(board, request.keyId, chain);
      if (log && intent?.ok) await log.outcome(intent.value.seq, problem ? { result: 'failed', errorCode: problem.code, errorMessage: problem.message } : { result: 'ok', certFingerprint });
      await this.audit?.refreshIntents();
      if (problem) return this.refuse('store', problem.message);
      const done: PendingCsr = { ...request, storedCertFingerprint: certFingerprint };
      await this.store.save(done);
      this.requests = this.requests.map((entry) => (entry.deviceId === deviceId ? done : entry));
      const registration = log ? await this.register(path, deviceId, log) : '';
      this.storeNotice = `Stored on device ${deviceId}: ${chain.length} bytes read back identical; the chain verifies to ${path.at(-1)!.subject.text}. ${registration}`.trim();
      return true;
    } finally {
      this.busy.store = false;
    }
  }

  /** Like after provisioning: the verified chain into the device registry, so the console knows the key; a refusal is reported, never fatal. */
  private async register(path: readonly ParsedCertificate[], deviceId: string, log: AuditLog): Promise<string> {
    const registered = await registerProvisioned(
      { certificatePem: encodePem('CERTIFICATE', path[0]!.der), issuersPem: path.slice(1, -1).map((ca) => encodePem('CERTIFICATE', ca.der)), root: path.at(-1)!.der },
      { boardSerial: deviceId, deviceId, runId: `external-ca-${this.reportBatch?.createdAt ?? ''}` },
      { audit: log, openRegistry: this.openRegistry },
    );
    return registrationNote(registered);
  }

  dismiss(scope: ExternalCaScope): void {
    delete this.errors[scope];
  }

  private async pendingBatch() {
    const exported = await exportCsrBatch(this.requests.map(({ deviceId, csr }) => ({ deviceId, csr })));
    return exported.ok ? { ok: true as const, value: exported.value.batch } : exported;
  }

  private refuse(scope: ExternalCaScope, message: string): false {
    this.errors[scope] = message;
    return false;
  }
}

/** A picked file as PEM text: PEM files as they are, a DER file as one CERTIFICATE block. */
function certificateText(file: PickedFile): string {
  const text = utf8.decode(file.bytes);
  return text.includes('-----BEGIN') ? text : encodePem('CERTIFICATE', file.bytes);
}

async function readDeviceId(board: Board): Promise<{ ok: true; value: string } | { ok: false; message: string }> {
  const info = await board.keys.info();
  return info.ok ? { ok: true, value: bytesToHex(info.value.deviceId) } : { ok: false, message: `The board did not say which device it is: ${info.error.message}` };
}

async function storeAndReadBack(board: Board, keyId: number, chain: Uint8Array): Promise<{ code: string; message: string } | null> {
  const stored = await board.keys.storeCertificate(keyId, chain);
  if (!stored.ok) return { code: stored.error.code, message: `The board did not store the chain: ${stored.error.message}` };
  const read = await board.keys.readCertificate(keyId);
  if (!read.ok) return { code: read.error.code, message: `Reading the chain back failed: ${read.error.message}` };
  if (!read.value || !equalBytes(read.value, chain)) return { code: 'readback-mismatch', message: `The chain read back differs from the one stored (${read.value?.length ?? 0} bytes read, ${chain.length} stored).` };
  return null;
}
