/** The Station page as several e2e specs drive it: scans, the queue's rows and the bench panels, the shift's image. */
import type { Page } from '@playwright/test';
import { buildMcubootImage } from '../../../src/lib/device/mcuboot-image';
import { card } from './app';
import { expect } from './fixtures';

/** Types a serial into the focused serial field the way a scanner does, ending with Enter. */
export async function scan(page: Page, serial: string): Promise<void> {
  await expect(page.getByTestId('station-serial')).toBeFocused();
  await page.keyboard.type(serial);
  await page.keyboard.press('Enter');
}

export const panel = (page: Page, serial: string) => page.locator(`[data-testid="station-panel"][data-serial="${serial}"]`);
export const row = (page: Page, serial: string) => page.locator(`[data-testid="station-row"][data-serial="${serial}"]`);

/** An MCUboot image (version 1.4.0) of `bytes` bytes in all. */
export function image(bytes: number): Buffer {
  const body = new Uint8Array(bytes - 0x200 - 40).map((_, index) => (index * 7) & 0xff);
  return Buffer.from(buildMcubootImage({ version: { major: 1, minor: 4, revision: 0, build: 0 }, body }));
}

/** Gives the shift a firmware image of `size` bytes that every board gets before provisioning. */
export async function chooseImage(page: Page, size: number): Promise<void> {
  await card(page, 'Shift setup').locator('input[type=file]').setInputFiles({ name: 'app.signed.bin', mimeType: 'application/octet-stream', buffer: image(size) });
  await expect(card(page, 'Shift setup')).toContainText('version 1.4.0');
}
