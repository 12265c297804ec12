// The installed-PWA promises: a web app manifest with icons, a service worker that precaches the
// whole app, so after one visit it loads and works with the network off; a strict CSP (any
// violation fails every test through support/fixtures.ts); the build hash in the header.
import { connectFromConnectPage, echo } from './support/app';
import { expect, test } from './support/fixtures';
import { openUnderServiceWorker, startOwnServer } from './support/own-server';

test('manifest, icons and CSP are served; the header shows the build hash', async ({ page, request }) => {
  await page.goto('/');
  const manifestHref = await page.locator('link[rel="manifest"]').getAttribute('href');
  expect(manifestHref).toBeTruthy();
  const manifest = await (await request.get(new URL(manifestHref!, page.url()).href)).json();
  expect(manifest).toMatchObject({ short_name: 'Imprint', display: 'standalone', start_url: '/' });
  for (const icon of manifest.icons as { src: string; sizes: string }[]) {
    const response = await request.get(new URL(icon.src, page.url()).href);
    expect(response.status(), icon.src).toBe(200);
    expect(response.headers()['content-type']).toBe('image/png');
  }
  expect(manifest.icons.map((icon: { sizes: string }) => icon.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']));

  const csp = await page.locator('meta[http-equiv="content-security-policy"]').getAttribute('content');
  expect(csp).toContain("default-src 'self'");
  expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
  expect(csp).not.toContain('unsafe-eval');
  expect(csp).toContain("object-src 'none'");
  await expect(page.getByTitle('Imprint version')).toHaveText(/^v\d+\.\d+\.\d+\+[0-9a-z-]+$/);
});

test('after one visit the app loads and works offline: reload, a deep link never visited, connect the simulated board, echo', async ({ page, context }) => {
  const server = await startOwnServer();
  try {
    await openUnderServiceWorker(page, server.url);

    // Offline as the browser sees it: the reload comes from the service worker's precache.
    await context.setOffline(true);
    await page.reload();
    await expect(page.getByRole('heading', { level: 1, name: 'Connect a board' })).toBeVisible();
    await context.setOffline(false);

    // No server at all any more (the factory network is down): a deep link never visited still
    // gets the app shell, and the simulated board works.
    server.stop();
    await page.goto(`${server.url}/device`);
    await expect(page.getByRole('heading', { name: 'No board connected' })).toBeVisible();
    await page.getByRole('link', { name: 'Go to Connect' }).click();
    await connectFromConnectPage(page, 'Simulated board');
    await echo(page, 'offline');
  } finally {
    server.stop();
  }
});
