/**
 * The station's certificate authorities as state the CA page renders: the CAs in the store with
 * their chains, which one issues device certificates (persisted), and the operator's actions —
 * create, restore a backup, import PEM + PKCS#8, download the backup again, revoke a serial, sign
 * a CRL. Each action checks everything first and stores only what fully succeeded: a bad file, a
 * wrong passphrase or a key that does not match leaves the store as it was, with a message naming
 * the file and what is wrong.
 *
 * The keys stay non-extractable `CryptoKey`s inside the CA store; this class hands a CA with its
 * keys only to the provisioning flow (`activeAuthority`), and keeps plain views for the page.
 */
import {
  createCa,
  createCrl,
  importCa,
  openCaStore,
  revokeCertificate,
  serializeCaBackup,
  type CaBackupState,
  type CaOrigin,
  type CaStore,
  type CertificateAuthority,
  type CreatedCrl,
  type ImportCaInput,
  type Revocation,
  type RevocationReason,
} from '../pki';
import { utf8 } from '../util/bytes';
import { describeCertificate, fileSlug, type CertificateView } from './certificate-view';
import { createStationSettings, type StationSettings } from './station-settings';

/** The part of the CA page an action belongs to: its busy flag and error live under this name. */
export type CaScope = 'load' | 'create' | 'import' | 'active' | 'revoke' | 'crl';

export interface CaSummary {
  id: string;
  label: string;
  createdAt: Date;
  origin: CaOrigin;
  backup: CaBackupState;
  /** The root's key is here too (created or restored CAs); an imported CA may lack it. */
  hasRootKey: boolean;
  /** Issuing CA first, the root last. */
  certificates: CertificateView[];
  /** The wrapped backup file is kept and can be downloaded again. */
  backupAvailable: boolean;
  revocations: Revocation[];
}

export interface CreateCaForm {
  organization: string;
  /** Empty: no backup, ever. */
  passphrase: string;
  confirm: string;
}

/** A file the operator picked, as bytes (PEM or DER) or text (JSON). */
export interface PickedFile {
  name: string;
  bytes: Uint8Array;
}

export interface ImportPemForm {
  certificates: PickedFile | null;
  privateKey: PickedFile | null;
  rootPrivateKey?: PickedFile | null;
  /** Make a wrapped backup while the key bytes are in hand (typed twice); empty for none. */
  passphrase?: string;
  confirm?: string;
}

export interface DownloadFile {
  fileName: string;
  text: string;
}

export interface AuthoritiesOptions {
  openStore?: () => Promise<CaStore>;
  settings?: StationSettings;
  /** PBKDF2 iterations for backups made here (tests use the minimum; the library refuses fewer). */
  backupIterations?: number;
}

export class CertificateAuthorities {
  status = $state<'idle' | 'loading' | 'ready' | 'failed'>('idle');
  list = $state.raw<CaSummary[]>([]);
  /** The CA that issues device certificates; persisted across reloads. */
  activeId = $state<string | null>(null);
  readonly active = $derived(this.list.find((ca) => ca.id === this.activeId) ?? null);
  errors = $state<Partial<Record<CaScope, string>>>({});
  busy = $state<Partial<Record<CaScope, boolean>>>({});
  /** What the last successful action did, for the card that did it. */
  notices = $state<Partial<Record<CaScope, string>>>({});
  /** The backup made with a CA just created or imported: offered for download at once. */
  freshBackup = $state.raw<(DownloadFile & { caId: string }) | null>(null);
  /** The CRL signed last, for its PEM and DER downloads. */
  lastCrl = $state.raw<(CreatedCrl & { caId: string; fileStem: string }) | null>(null);

  private store: Promise<CaStore> | null = null;
  private readonly openStore: () => Promise<CaStore>;
  private readonly settings: StationSettings;
  private readonly backupIterations: number | undefined;

  constructor(options: AuthoritiesOptions = {}) {
    this.openStore = options.openStore ?? (() => openCaStore());
    this.settings = options.settings ?? createStationSettings();
    this.backupIterations = options.backupIterations;
  }

  /** Reads the CAs and the active choice; the first CA there is becomes active when none is chosen. */
  async load(): Promise<void> {
    if (this.status === 'loading') return;
    if (this.status !== 'ready') this.status = 'loading';
    const done = await this.act('load', async () => {
      await this.reload();
      return true;
    });
    this.status = done ? 'ready' : 'failed';
  }

  /**
   * Creates a root and an issuing CA named after the organization. With a passphrase (typed twice)
   * a wrapped backup is made now — the only moment one can be — and offered for download.
   */
  async create(form: CreateCaForm): Promise<boolean> {
    const organization = form.organization.trim();
    if (!organization) return this.refuse('create', 'Organization: enter the name the CA certificates will carry, e.g. “Acme Devices”.');
    if (form.passphrase !== form.confirm) return this.refuse('create', 'The two passphrases differ. Nothing was created.');
    return this.act('create', async () => {
      const created = await createCa({
        label: organization,
        organization,
        ...(form.passphrase ? { backupPassphrase: form.passphrase, ...this.iterations() } : {}),
      });
      if (!created.ok) return this.refuse('create', `${created.error.message}. Nothing was created.`);
      const { ca, backup } = created.value;
      const store = await this.openedStore();
      if (await store.loadCa(ca.id)) return this.refuse('create', 'A CA with this certificate is already in the store.');
      await store.saveCa(ca);
      if (backup) await this.keepBackup(ca, serializeCaBackup(backup));
      await this.afterAdding(ca);
      this.notices.create = backup
        ? `Created “${ca.label}”. Download its backup now and keep it away from this computer.`
        : `Created “${ca.label}”. It has no backup: if this browser profile is lost, so is the CA.`;
      return true;
    });
  }

  /** Restores an Imprint backup file with its passphrase. */
  async restoreBackup(file: PickedFile | null, passphrase: string): Promise<boolean> {
    if (!file) return this.refuse('import', 'Choose the backup file (…-ca-backup.json) first.');
    if (!passphrase) return this.refuse('import', 'Enter the passphrase the backup was made with.');
    const text = utf8.decode(file.bytes);
    return this.addImported(file.name, { kind: 'backup', backup: text, passphrase }, text);
  }

  /** Imports a CA from its certificates (issuing CA first, root last) and the issuing CA's PKCS#8 key. */
  async importPem(form: ImportPemForm): Promise<boolean> {
    if (!form.certificates) return this.refuse('import', 'Choose the certificate file (PEM bundle: issuing CA first, root last).');
    if (!form.privateKey) return this.refuse('import', 'Choose the issuing CA’s private key file (PKCS#8, PEM or DER).');
    if ((form.passphrase ?? '') !== (form.confirm ?? '')) return this.refuse('import', 'The two passphrases differ. Nothing was stored.');
    const input: ImportCaInput = {
      kind: 'pkcs8',
      certificates: pemOrDerList(form.certificates.bytes),
      privateKey: pemOrDer(form.privateKey.bytes),
      ...(form.rootPrivateKey ? { rootPrivateKey: pemOrDer(form.rootPrivateKey.bytes) } : {}),
      ...(form.passphrase ? { backupPassphrase: form.passphrase, ...this.iterations() } : {}),
    };
    const names = [form.certificates.name, form.privateKey.name, form.rootPrivateKey?.name].filter(Boolean).join(' + ');
    return this.addImported(names, input, null);
  }

  /** Chooses the CA that issues device certificates from now on. */
  async setActive(id: string): Promise<boolean> {
    if (!this.list.some((ca) => ca.id === id)) return this.refuse('active', 'There is no such CA in the store.');
    return this.act('active', async () => {
      await this.settings.setActiveCaId(id);
      this.activeId = id;
      this.lastCrl = null;
      return true;
    });
  }

  /** The wrapped backup of a CA, when it has one here. */
  async backupFile(id: string): Promise<DownloadFile | null> {
    const ca = this.list.find((item) => item.id === id);
    const text = ca ? await this.settings.caBackup(id) : null;
    return ca && text ? { fileName: `${fileSlug(ca.label)}-ca-backup.json`, text } : null;
  }

  /** Adds a serial number (hex; colons and spaces allowed) to the active CA's revocation list. */
  async revoke(serial: string, reason: RevocationReason = 'unspecified'): Promise<boolean> {
    const summary = this.active;
    if (!summary) return this.refuse('revoke', 'Choose or create a CA first.');
    if (!serial.trim()) return this.refuse('revoke', 'Serial number: enter the device certificate’s serial (hex, as openssl shows it).');
    return this.act('revoke', async () => {
      const ca = await this.authority(summary.id);
      if (!ca) return this.refuse('revoke', 'The CA is no longer in the store.');
      const revocation = await revokeCertificate(ca, { serialNumber: serial.trim() }, { reason });
      if (!revocation.ok) return this.refuse('revoke', `${revocation.error.message}. Nothing was revoked.`);
      const added = await (await this.openedStore()).addRevocation(ca.id, revocation.value);
      if (!added.ok) return this.refuse('revoke', `${added.error.message}.`);
      await this.reload();
      this.lastCrl = null;
      this.notices.revoke = `Serial ${revocation.value.serialNumber} is revoked. Sign a new CRL to publish it.`;
      return true;
    });
  }

  /** Signs a CRL of the active CA's revocations with the next CRL number. */
  async makeCrl(): Promise<CreatedCrl | null> {
    const summary = this.active;
    if (!summary) {
      this.refuse('crl', 'Choose or create a CA first.');
      return null;
    }
    let made: CreatedCrl | null = null;
    await this.act('crl', async () => {
      const ca = await this.authority(summary.id);
      if (!ca) return this.refuse('crl', 'The CA is no longer in the store.');
      const store = await this.openedStore();
      const number = await store.nextCrlNumber(ca.id);
      if (!number.ok) return this.refuse('crl', `${number.error.message}.`);
      const crl = await createCrl({ ca, revocations: await store.listRevocations(ca.id), crlNumber: number.value });
      if (!crl.ok) return this.refuse('crl', `${crl.error.message}.`);
      made = crl.value;
      this.lastCrl = { ...crl.value, caId: ca.id, fileStem: `${fileSlug(ca.label)}-crl-${crl.value.crlNumber}` };
      return true;
    });
    return made;
  }

  /** The active CA with its keys, for issuing; null when there is none. */
  async activeAuthority(): Promise<CertificateAuthority | null> {
    if (this.status === 'idle') await this.load();
    return this.activeId ? ((await this.authority(this.activeId)) ?? null) : null;
  }

  dismiss(scope: CaScope): void {
    delete this.errors[scope];
    delete this.notices[scope];
  }

  private async addImported(source: string, input: ImportCaInput, backupText: string | null): Promise<boolean> {
    return this.act('import', async () => {
      const imported = await importCa(input);
      if (!imported.ok) return this.refuse('import', `${source}: ${imported.error.message}. Nothing was stored.`);
      const { ca } = imported.value;
      const store = await this.openedStore();
      if (await store.loadCa(ca.id)) return this.refuse('import', `${source}: this CA (“${ca.label}”) is already in the store. Nothing was changed.`);
      await store.saveCa(ca);
      if (backupText) await this.settings.saveCaBackup(ca.id, backupText);
      else if (imported.value.backup) await this.keepBackup(ca, serializeCaBackup(imported.value.backup));
      await this.afterAdding(ca);
      this.notices.import = `${input.kind === 'backup' ? 'Restored' : 'Imported'} “${ca.label}”${ca.root.privateKey ? '' : ' (without its root key: it can issue, not make new intermediates)'}.`;
      return true;
    });
  }

  private async keepBackup(ca: CertificateAuthority, text: string): Promise<void> {
    await this.settings.saveCaBackup(ca.id, text);
    this.freshBackup = { caId: ca.id, fileName: `${fileSlug(ca.label)}-ca-backup.json`, text };
  }

  private async afterAdding(ca: CertificateAuthority): Promise<void> {
    if (!this.activeId) await this.settings.setActiveCaId(ca.id);
    await this.reload();
  }

  private async reload(): Promise<void> {
    const store = await this.openedStore();
    const cas = await store.listCas();
    const summaries: CaSummary[] = [];
    for (const ca of cas) summaries.push(await this.summarize(store, ca));
    let active = await this.settings.activeCaId();
    if ((!active || !summaries.some((ca) => ca.id === active)) && summaries.length > 0) {
      active = summaries[0]!.id;
      await this.settings.setActiveCaId(active);
    }
    this.list = summaries;
    this.activeId = active && summaries.some((ca) => ca.id === active) ? active : null;
  }

  private async summarize(store: CaStore, ca: CertificateAuthority): Promise<CaSummary> {
    const ders = [{ der: ca.intermediate.certificate, role: 'Issuing CA' }, ...ca.chain.map((der, index) => ({ der, role: `Intermediate ${index + 1}` })), { der: ca.root.certificate, role: 'Root CA' }];
    const certificates: CertificateView[] = [];
    for (const { der, role } of ders) {
      const view = await describeCertificate(der, role);
      if (view.ok) certificates.push(view.value);
    }
    return {
      id: ca.id,
      label: ca.label,
      createdAt: ca.createdAt,
      origin: ca.origin,
      backup: ca.backup,
      hasRootKey: !!ca.root.privateKey,
      certificates,
      backupAvailable: (await this.settings.caBackup(ca.id)) !== null,
      revocations: await store.listRevocations(ca.id),
    };
  }

  private async authority(id: string): Promise<CertificateAuthority | undefined> {
    return (await this.openedStore()).loadCa(id);
  }

  private openedStore(): Promise<CaStore> {
    this.store ??= this.openStore().catch((caught) => {
      this.store = null;
      throw caught;
    });
    return this.store;
  }

  private iterations(): { backupIterations?: number } {
    return this.backupIterations === undefined ? {} : { backupIterations: this.backupIterations };
  }

  /** Runs an action with its busy flag; a storage failure becomes the scope's message. */
  private async act(scope: CaScope, action: () => Promise<boolean>): Promise<boolean> {
    this.busy[scope] = true;
    delete this.errors[scope];
    delete this.notices[scope];
    try {
      return await action();
    } catch (caught) {
      return this.refuse(scope, `The CA store failed: ${caught instanceof Error ? caught.message : String(caught)}`);
    } finally {
      this.busy[scope] = false;
    }
  }

  private refuse(scope: CaScope, message: string): false {
    delete this.notices[scope];
    this.errors[scope] = message;
    return false;
  }
}

/** PEM text stays text; anything else is DER. */
function pemOrDer(bytes: Uint8Array): string | Uint8Array {
  const text = utf8.decode(bytes);
  return text.includes('-----BEGIN ') ? text : bytes;
}

function pemOrDerList(bytes: Uint8Array): string | Uint8Array[] {
  const value = pemOrDer(bytes);
  return typeof value === 'string' ? value : [value];
}
