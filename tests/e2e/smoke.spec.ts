// Smoke test: the built app loads and shows its heading.
import { expect, test } from '@playwright/test';

test('home page shows the Imprint heading', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: /Imprint/ }).first()).toBeVisible();
});

test('unknown routes fall back to the SPA shell', async ({ page }) => {
  const res = await page.goto('/some/deep/link');
  expect(res?.status()).toBe(200);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
});
