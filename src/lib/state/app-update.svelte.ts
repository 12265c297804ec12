/**
 * App updates that never interrupt work. The service worker downloads a new version in the
 * background; the page then says so, but the switch (which reloads the page) waits until no
 * board is being worked on and the operator accepts it.
 *
 * The switch is shared by every tab of the app: activating the new service worker reloads all of
 * them, and it also throws away the old version's cached files, which a tab still running the old
 * code may need. So a tab with work in progress holds a shared Web Lock while an update waits, and
 * a tab whose operator accepts first checks that no other tab holds it. A tab that is switched
 * anyway (by an older version of the app in another tab) reloads only once its own work ends.
 */

/** What registering the service worker gives back: a function that activates the waiting version and reloads. */
export type ApplyUpdate = (reloadPage?: boolean) => Promise<void>;

export interface UpdateRegistration {
  onNeedRefresh: () => void;
  onOfflineReady: () => void;
  /** The new version took over this tab: reload onto it (instead of workbox-window reloading at once). */
  onNeedReload: () => void;
}

/** Held (shared) by each tab with work in progress while an update waits. */
export const WORK_LOCK = 'imprint-work-in-progress';

/** How often a waiting update re-reads the work in this tab and in the others. */
const RECHECK_MS = 250;

export interface AppUpdateOptions {
  /** The Web Locks of this origin (`navigator.locks`); without them only this tab's work holds an update. */
  locks?: LockManager | null;
  /** Reloads the page (`location.reload`). */
  reload?: () => void;
}

export class AppUpdate {
  /** A new version is downloaded and waiting. */
  waiting = $state(false);
  /** Everything is cached: the app now works offline. */
  offlineReady = $state(false);
  /** Another tab of the app has work in progress: the switch waits for it. */
  heldElsewhere = $state(false);
  /** The new version took over while this tab had work in progress: the page reloads when the work ends. */
  reloadPending = $state(false);
  private apply: ApplyUpdate | null = null;
  private readonly busyChecks: (() => string | null)[] = [];
  readonly #locks: LockManager | null;
  readonly #reload: () => void;
  /** Ends this tab's hold on `WORK_LOCK`; resolves once the lock is released. */
  #hold: { release: () => void; released: Promise<unknown> } | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: AppUpdateOptions = {}) {
    this.#locks = options.locks !== undefined ? options.locks : (globalThis.navigator?.locks ?? null);
    this.#reload = options.reload ?? (() => location.reload());
  }

  /** Hooks the service worker's events; `register` is `registerSW` from virtual:pwa-register. */
  register(register: (options: UpdateRegistration) => ApplyUpdate): void {
    this.apply = register({
      onNeedRefresh: () => {
        this.waiting = true;
        this.#watch();
      },
      onOfflineReady: () => (this.offlineReady = true),
      onNeedReload: () => {
        this.reloadPending = true;
        this.#watch();
      },
    });
  }

  /** Adds a check that names work in progress (e.g. "an upload is running"), or returns null when idle. */
  holdWhile(check: () => string | null): void {
    this.busyChecks.push(check);
  }

  /** Why the update must wait, or null when it can go ahead. */
  get blockedBy(): string | null {
    return this.#ownWork() ?? (this.heldElsewhere ? 'work in another Imprint tab' : null);
  }

  /** Switches to the new version (every tab reloads) — refused while work is in progress here or in another tab. */
  async accept(): Promise<boolean> {
    if (!this.waiting || !this.apply || this.#ownWork()) return false;
    await this.#releaseHold();
    if (await this.#otherTabsWorking()) {
      this.heldElsewhere = true;
      return false;
    }
    await this.apply(true);
    return true;
  }

  /**
   * Brings the lock and the flags in line with the work now in progress: called every `RECHECK_MS`
   * while an update waits or a reload is pending.
   * @example update.sync(); update.blockedBy // null once no tab works
   */
  async sync(): Promise<void> {
    if (this.#ownWork()) {
      if (!this.#hold) this.#takeHold();
      return;
    }
    if (this.reloadPending) {
      this.#stopWatching();
      this.#reload();
      return;
    }
    await this.#releaseHold();
    this.heldElsewhere = await this.#otherTabsWorking();
  }

  #ownWork(): string | null {
    for (const check of this.busyChecks) {
      const reason = check();
      if (reason) return reason;
    }
    return null;
  }

  #watch(): void {
    void this.sync();
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.sync(), RECHECK_MS);
    // A waiting update must not keep a Node process (the unit tests) alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #stopWatching(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #takeHold(): void {
    if (!this.#locks) return;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.#hold = { release, released: this.#locks.request(WORK_LOCK, { mode: 'shared' }, () => held) };
  }

  async #releaseHold(): Promise<void> {
    const hold = this.#hold;
    if (!hold) return;
    this.#hold = null;
    hold.release();
    await hold.released;
  }

  /** Whether any tab holds `WORK_LOCK` (this one has released its own before asking). */
  async #otherTabsWorking(): Promise<boolean> {
    if (!this.#locks) return false;
    const state = await this.#locks.query();
    return (state.held ?? []).some((lock) => lock.name === WORK_LOCK);
  }
}
