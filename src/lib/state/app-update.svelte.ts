/**
 * App updates that never interrupt work. The service worker downloads a new version in the
 * background; the page then says so, but the switch (which reloads the page) waits until no
 * board is being worked on and the operator accepts it.
 */

/** What registering the service worker gives back: a function that activates the waiting version and reloads. */
export type ApplyUpdate = (reloadPage?: boolean) => Promise<void>;

export interface UpdateRegistration {
  onNeedRefresh: () => void;
  onOfflineReady: () => void;
}

export class AppUpdate {
  /** A new version is downloaded and waiting. */
  waiting = $state(false);
  /** Everything is cached: the app now works offline. */
  offlineReady = $state(false);
  private apply: ApplyUpdate | null = null;
  private readonly busyChecks: (() => string | null)[] = [];

  /** Hooks the service worker's events; `register` is `registerSW` from virtual:pwa-register. */
  register(register: (options: UpdateRegistration) => ApplyUpdate): void {
    this.apply = register({ onNeedRefresh: () => (this.waiting = true), onOfflineReady: () => (this.offlineReady = true) });
  }

  /** Adds a check that names work in progress (e.g. "an upload is running"), or returns null when idle. */
  holdWhile(check: () => string | null): void {
    this.busyChecks.push(check);
  }

  /** Why the update must wait, or null when it can go ahead. */
  get blockedBy(): string | null {
    for (const check of this.busyChecks) {
      const reason = check();
      if (reason) return reason;
    }
    return null;
  }

  /** Switches to the new version (the page reloads) — refused while work is in progress. */
  async accept(): Promise<boolean> {
    if (!this.waiting || !this.apply || this.blockedBy) return false;
    await this.apply(true);
    return true;
  }
}
