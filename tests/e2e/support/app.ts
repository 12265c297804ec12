/** Steps through Imprint's pages that several e2e specs share. */
import { readFile } from 'node:fs/promises';
import type { Download, Page } from '@playwright/test';
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex } from '../../../src/lib/util/bytes';
import { expect } from './fixtures';

/** On the Connect page: picks a device kind and connects; resolves on the device page, connected. */
export async function connectFromConnectPage(page: Page, kind: 'Simulated board' | 'Serial (WebSerial)', button: string | RegExp = /Connect/): Promise<void> {
  await page.getByRole('radio', { name: kind }).check();
  await page.getByRole('button', { name: button }).click();
  await expect(page).toHaveURL(/\/device$/);
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');
}

export function card(page: Page, title: string) {
  return page.getByRole('region', { name: title, exact: true });
}

/** A link of the app bar. */
export function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/** Creates a CA without a backup on the CA page and waits for the page to say so. */
export async function createCa(page: Page, organization: string): Promise<void> {
  await nav(page, 'CA').click();
  await page.getByLabel('Organization').fill(organization);
  await page.getByRole('button', { name: 'Create CA without backup' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Created “${organization}”` })).toBeVisible();
}

/** On the Provision page: chooses a profile and a serial, and gives any known key values the profile asks for. */
export async function prepareRun(page: Page, profile: RegExp, serial: string): Promise<void> {
  await nav(page, 'Provision').click();
  await page.getByRole('radio', { name: profile }).check();
  await page.getByLabel('Board serial').fill(serial);
  for (const label of ['known', 'certified']) {
    const field = page.getByLabel(`Key “${label}”`);
    if (await field.count()) await field.fill(bytesToHex(p256.utils.randomSecretKey()));
  }
}

/** Clicks something that downloads a file; returns the download and its text. */
export async function downloaded(page: Page, click: () => Promise<void>): Promise<{ download: Download; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { download, text: await readFile((await download.path())!, 'utf8') };
}

/** Sends an echo through the Echo card with the keyboard (Enter submits) and checks the reply. */
export async function echo(page: Page, text: string): Promise<void> {
  const input = page.getByLabel('Text to send');
  await input.fill(text);
  await input.press('Enter');
  await expect(page.getByTestId('echo-result')).toHaveText(new RegExp(`^\\s*Reply ${text}\\s+in\\s+\\d+ ms\\s*$`));
}
