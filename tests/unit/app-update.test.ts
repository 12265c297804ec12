import { describe, expect, test } from 'vitest';
import { AppUpdate } from '../../src/lib/state/app-update.svelte';

describe('AppUpdate', () => {
  test('a waiting version is applied only when nothing holds it and the operator accepts', async () => {
    const update = new AppUpdate();
    let applied = 0;
    let hooks: { onNeedRefresh: () => void; onOfflineReady: () => void } | null = null;
    update.register((options) => {
      hooks = options;
      return async () => {
        applied++;
      };
    });
    let uploading = true;
    update.holdWhile(() => (uploading ? 'the firmware upload' : null));

    expect(await update.accept()).toBe(false); // nothing waiting yet
    hooks!.onOfflineReady();
    expect(update.offlineReady).toBe(true);
    hooks!.onNeedRefresh();
    expect(update.waiting).toBe(true);
    expect(update.blockedBy).toBe('the firmware upload');
    expect(await update.accept()).toBe(false);
    expect(applied).toBe(0);

    uploading = false;
    expect(update.blockedBy).toBeNull();
    expect(await update.accept()).toBe(true);
    expect(applied).toBe(1);
  });
});
