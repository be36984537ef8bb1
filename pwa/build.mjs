// Build step for the PWA: bundles our modules and the npm libraries they import (PouchDB, …) into
// pwa/static/dist, so nothing is fetched from a CDN at run time. Run by scripts/run and scripts/test.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.join(here, 'static', 'dist');
const entries = { app: path.join(here, 'static', 'js', 'app.js') };

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const assets = {};
for (const [name, entry] of Object.entries(entries)) {
  const tmp = path.join(outdir, `${name}.js`);
  await build({
    entryPoints: [entry], bundle: true, format: 'esm', target: ['chrome90', 'firefox90', 'safari15'],
    minify: true, sourcemap: false, outfile: tmp, define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    logLevel: 'warning',
  });
  const bytes = await readFile(tmp);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const hashed = `${name}.${hash}.js`;
  await rename(tmp, path.join(outdir, hashed));
  assets[`${name}.js`] = `/static/dist/${hashed}`;
}
const version = createHash('sha256').update(JSON.stringify(assets)).digest('hex').slice(0, 12);
await writeFile(path.join(outdir, 'asset-manifest.json'), JSON.stringify({ version, assets }, null, 2));
console.log(`PWA built: version ${version}, ${Object.keys(assets).length} bundle(s) in pwa/static/dist`);
