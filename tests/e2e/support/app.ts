/** Steps through Imprint's pages that several e2e specs share. */
import type { Page } from '@playwright/test';
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

/** Sends an echo through the Echo card with the keyboard (Enter submits) and checks the reply. */
export async function echo(page: Page, text: string): Promise<void> {
  const input = page.getByLabel('Text to send');
  await input.fill(text);
  await input.press('Enter');
  await expect(page.getByTestId('echo-result')).toHaveText(new RegExp(`^\\s*Reply ${text}\\s+in\\s+\\d+ ms\\s*$`));
}
