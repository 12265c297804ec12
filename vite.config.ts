// Vite config: SvelteKit, the PWA (a workbox service worker precaching the whole app so it works
// offline after the first load), and the inline Vitest settings for unit tests.
import { sveltekit } from '@sveltejs/kit/vite';
import { SvelteKitPWA } from '@vite-pwa/sveltekit';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    sveltekit(),
    SvelteKitPWA({
      // The page decides when to switch to a new version: never in the middle of work (see src/lib/state/app-update.svelte.ts).
      registerType: 'prompt',
      injectRegister: false,
      // Register from the site root whatever page the operator opened first (a deep link included).
      base: '/',
      scope: '/',
      strategies: 'generateSW',
      manifest: {
        name: 'Imprint provisioning station',
        short_name: 'Imprint',
        description: 'Provision embedded boards over serial, Bluetooth and USB, offline, in the browser.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: '#1f2a44',
        background_color: '#1f2a44',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['client/**/*.{js,css,html,svg,png,webmanifest}'],
        // Any navigation, a deep link never visited included, gets the precached SPA shell.
        navigateFallback: '/index.html',
        cleanupOutdatedCaches: true,
      },
      kit: { adapterFallback: 'index.html', spa: true },
    }),
  ],
  server: { port: 5173 },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20000,
  },
});
