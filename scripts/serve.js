#!/usr/bin/env node
// Tiny static file server for the adapter-static output (no deps).
// Usage: node scripts/serve.js [dir=build]. Port from $PORT, else 5173; tries the next ports if busy.
// Unknown paths without a file extension fall back to index.html (SPA routing).
import { createServer } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? 'build');
const basePort = Number(process.env.PORT) || 5173;
const MAX_TRIES = 20;

/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8'
};

/** @param {string} file */
async function isFile(file) {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Map a URL path to a file under root, or null (404).
 * @param {string} urlPath
 */
async function resolveFile(urlPath) {
  let rel;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const file = path.join(root, path.normalize(rel));
  if (file !== root && !file.startsWith(root + path.sep)) return null; // path traversal
  if (await isFile(file)) return file;
  const index = path.join(file, 'index.html');
  if (await isFile(index)) return index;
  if (await isFile(file + '.html')) return file + '.html';
  if (path.extname(rel) === '') return path.join(root, 'index.html'); // SPA fallback
  return null;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  const file = await resolveFile(url.pathname);
  if (!file || !(await isFile(file))) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
    return;
  }
  const ext = path.extname(file).toLowerCase();
  const immutable = url.pathname.startsWith('/_app/immutable/');
  res.writeHead(200, {
    'Content-Type': TYPES[ext] ?? 'application/octet-stream',
    'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'X-Content-Type-Options': 'nosniff'
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
});

server.once('listening', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : basePort;
  console.log(`Imprint is running at http://localhost:${port}`);
});

/** @param {number} port */
function listen(port) {
  const onError = (/** @type {NodeJS.ErrnoException} */ err) => {
    if (err.code === 'EADDRINUSE' && port < basePort + MAX_TRIES) {
      listen(port + 1);
    } else {
      console.error(`Cannot listen on port ${port}: ${err.message}`);
      process.exit(1);
    }
  };
  server.once('error', onError);
  server.once('listening', () => server.off('error', onError));
  server.listen(port);
}

fs.stat(path.join(root, 'index.html')).then(
  () => listen(basePort),
  () => {
    console.error(`No index.html in ${root}: run \`npx vite build\` first.`);
    process.exit(1);
  }
);
