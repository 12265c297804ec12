// SvelteKit config: a fully static SPA (adapter-static, index.html fallback) with a strict
// Content Security Policy in hash mode: Kit's own inline bootstrap script is allowed by its hash,
// nothing else inline runs, no eval, no third-party origins.
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** The build hash shown in the header and written into every audit record: the commit it was built from. */
function buildHash() {
  if (process.env.IMPRINT_BUILD_HASH) return process.env.IMPRINT_BUILD_HASH;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unversioned';
  }
}

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // IMPRINT_BUILD_DIR: a second build beside the first (the e2e update test serves two versions).
    adapter: adapter({
      pages: process.env.IMPRINT_BUILD_DIR ?? 'build',
      assets: process.env.IMPRINT_BUILD_DIR ?? 'build',
      fallback: 'index.html',
      strict: true
    }),
    // `version.name` is what `$app/environment` reports; the header shows it, the audit log records it.
    version: { name: `${version}+${buildHash()}` },
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        // Svelte sets style attributes (progress widths, transitions); no script can come in this way.
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:', 'blob:'],
        'font-src': ['self'],
        // The verification console talks MQTT over WebSocket to a broker the operator names.
        'connect-src': ['self', 'ws:', 'wss:'],
        'worker-src': ['self'],
        'manifest-src': ['self'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self']
      }
    }
  }
};

export default config;
