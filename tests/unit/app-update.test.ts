/**
 * App updates held while work runs: in this tab, and across tabs through a shared Web Lock (a
 * stand-in LockManager shared by two `AppUpdate`s plays two tabs of one origin).
 */
import { describe, expect, test } from 'vitest';
import { AppUpdate, type UpdateRegistration, WORK_LOCK } from '../../src/lib/state/app-update.svelte';

/** The part of the Web Locks API AppUpdate uses: requests held until their callback settles, and `query`. */
class StandInLocks {
  readonly held: { name: string; mode: LockMode }[] = [];

  async request(name: string, options: LockOptions, callback: (lock: Lock | null) => Promise<unknown>): Promise<unknown> {
    const lock = { name, mode: options.mode ?? 'exclusive' };
    this.held.push(lock);
    try {
      return await callback(lock);
    } finally {
      this.held.splice(this.held.indexOf(lock), 1);
    }
  }

  async query(): Promise<LockManagerSnapshot> {
    return { held: this.held.map((lock) => ({ ...lock, clientId: 'tab' })), pending: [] };
  }
}

/** One tab: its AppUpdate, the service worker hooks it registered, its work and what it did. */
function tab(locks: StandInLocks | null) {
  const state = { busy: false, applied: 0, reloads: 0, hooks: null as UpdateRegistration | null };
  const update = new AppUpdate({ locks: locks as unknown as LockManager | null, reload: () => state.reloads++ });
  update.register((hooks) => {
    state.hooks = hooks;
    return async () => {
      state.applied++;
    };
  });
  update.holdWhile(() => (state.busy ? 'the firmware upload' : null));
  return Object.assign(state, { update });
}

describe('AppUpdate', () => {
  test('a waiting version is applied only when nothing holds it and the operator accepts', async () => {
    const one = tab(null);
    one.busy = true;
    expect(await one.update.accept()).toBe(false); // nothing waiting yet
    one.hooks!.onOfflineReady();
    expect(one.update.offlineReady).toBe(true);
    one.hooks!.onNeedRefresh();
    expect(one.update.waiting).toBe(true);
    expect(one.update.blockedBy).toBe('the firmware upload');
    expect(await one.update.accept()).toBe(false);
    expect(one.applied).toBe(0);

    one.busy = false;
    expect(one.update.blockedBy).toBeNull();
    expect(await one.update.accept()).toBe(true);
    expect(one.applied).toBe(1);
  });

  test('work in another tab holds the switch there until it ends', async () => {
    const locks = new StandInLocks();
    const working = tab(locks);
    const idle = tab(locks);
    working.busy = true;
    working.hooks!.onNeedRefresh();
    idle.hooks!.onNeedRefresh();
    await working.update.sync();
    expect(locks.held).toEqual([{ name: WORK_LOCK, mode: 'shared' }]);
    await idle.update.sync();
    expect(idle.update.blockedBy).toBe('work in another Imprint tab');
    expect(await idle.update.accept()).toBe(false);
    expect(idle.applied).toBe(0);

    working.busy = false;
    await working.update.sync();
    expect(locks.held).toEqual([]);
    await idle.update.sync();
    expect(idle.update.blockedBy).toBeNull();
    expect(await idle.update.accept()).toBe(true);
    expect(idle.applied).toBe(1);
  });

  test('a tab the new version takes over while it works reloads only when the work ends', async () => {
    const one = tab(new StandInLocks());
    one.busy = true;
    one.hooks!.onNeedReload();
    expect(one.update.reloadPending).toBe(true);
    await one.update.sync();
    expect(one.reloads).toBe(0);
    one.busy = false;
    await one.update.sync();
    expect(one.reloads).toBe(1);
  });

  test('an idle tab reloads as soon as the new version takes over', async () => {
    const one = tab(new StandInLocks());
    one.hooks!.onNeedReload();
    await Promise.resolve();
    expect(one.reloads).toBe(1);
  });
});
