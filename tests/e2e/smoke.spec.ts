// Smoke test: the built app loads, shows its brand and version and the Connect page, and deep links work.
import { expect, test } from './support/fixtures';

test('home page shows the Imprint brand, its version and the Connect heading', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('link', { name: 'Imprint' })).toBeVisible();
  await expect(page.getByTitle('Imprint version')).toHaveText(/^v\d+\.\d+\.\d+/);
  await expect(page.getByRole('heading', { level: 1, name: 'Connect a board' })).toBeVisible();
  await expect(page).toHaveTitle('Connect · Imprint');
});

test('unknown routes fall back to the SPA shell and say the page does not exist', async ({ page }) => {
  const res = await page.goto('/some/deep/link');
  expect(res?.status()).toBe(200);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to Connect' }).click();
  await expect(page.getByRole('heading', { name: 'Connect a board' })).toBeVisible();
});
