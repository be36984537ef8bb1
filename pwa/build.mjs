// Build step for the PWA: bundles our modules and the npm libraries they import (PouchDB, the JSON Schema
// validator, the barcode reader) into pwa/static/dist, so nothing is fetched from a CDN at run time.
// Run by scripts/run and scripts/test.
//
// Output: content-hashed files, and asset-manifest.json with
//   assets   — logical name -> URL (templates use {{ asset('app.js') }}),
//   precache — what the service worker caches at install (the app shell: everything the first screen needs),
//   lazy     — what is fetched only when first needed and then cached (the seal scanner and its 1 MB wasm).
//
// package.json: `dependencies` are what ends up in the bundle (and the embedded development database);
// esbuild itself is a devDependency. `events` is there for PouchDB: pouchdb-browser imports node's
// EventEmitter ("events") without declaring it, and esbuild bundles the npm polyfill in its place.
// `zxing-wasm` is read by path below (its wasm is copied, not imported), so it is declared too.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const finalDir = path.join(here, 'static', 'dist');
// Build next to the live folder and swap at the end, so a running server never sees a half-written dist.
const outdir = path.join(here, 'static', `.dist-${process.pid}`);
const entries = { app: path.join(here, 'static', 'js', 'app.js') };
const wasmSource = path.join(root, 'node_modules', 'zxing-wasm', 'dist', 'reader', 'zxing_reader.wasm');

// The app's texts come from the one translation catalogue (locale/en/LC_MESSAGES/segel.po, entries with a
// "pwa:<key>" context: msgid Indonesian, msgstr English), as JSON that lib/i18n.js imports and esbuild bundles.
const catalogue = path.join(root, 'locale', 'en', 'LC_MESSAGES', 'segel.po');
const i18nDir = path.join(here, 'static', 'i18n');

/** The entries of a gettext .po file: [{ context, id, str }] (no plurals: the PWA's texts have none). */
function parsePo(text) {
  const entries = [];
  let entry = {};
  let field = null;
  const unquote = (s) => JSON.parse(s); // a .po string's escapes (quote, backslash, n, t) are JSON's too
  const flush = () => {
    if (entry.id !== undefined) entries.push(entry);
    entry = {};
    field = null;
  };
  for (const line of text.split('\n')) {
    const match = /^(msgctxt|msgid|msgstr)\s+(".*")\s*$/.exec(line);
    if (match) {
      if (match[1] === 'msgctxt' || (match[1] === 'msgid' && entry.str !== undefined)) flush();
      field = { msgctxt: 'context', msgid: 'id', msgstr: 'str' }[match[1]];
      entry[field] = unquote(match[2]);
    } else if (/^".*"\s*$/.test(line) && field) {
      entry[field] += unquote(line.trim());
    } else if (!line.trim()) {
      flush();
    }
  }
  flush();
  return entries;
}

const pwaTexts = { id: {}, en: {} };
for (const { context, id, str } of parsePo(await readFile(catalogue, 'utf8'))) {
  if (!context?.startsWith('pwa:')) continue;
  const key = context.slice(4);
  pwaTexts.id[key] = id;
  if (str) pwaTexts.en[key] = str; // none: the app falls back to the Indonesian
}
await mkdir(i18nDir, { recursive: true });
for (const [lang, texts] of Object.entries(pwaTexts)) {
  await writeFile(path.join(i18nDir, `${lang}.json`), `${JSON.stringify(texts, null, 1)}\n`);
}

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const shortHash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);

// The scanner's wasm keeps its name's stem (zxing-wasm's loader asks for "zxing_reader.wasm") and gets a hash.
const wasmBytes = await readFile(wasmSource);
const wasmName = `zxing_reader.${shortHash(wasmBytes)}.wasm`;
await copyFile(wasmSource, path.join(outdir, wasmName));
const wasmUrl = `/static/dist/${wasmName}`;

const result = await build({
  entryPoints: entries, bundle: true, format: 'esm', splitting: true, target: ['chrome90', 'firefox90', 'safari15'],
  minify: true, sourcemap: false, outdir, entryNames: '[name].[hash]', chunkNames: 'chunk.[name].[hash]',
  metafile: true, logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis', __ZXING_WASM_URL__: JSON.stringify(wasmUrl) },
});

const url = (file) => `/static/dist/${path.basename(file)}`; // where the files live once swapped in
const outputs = result.metafile.outputs;
const assets = {};
const precache = new Set();
for (const [file, meta] of Object.entries(outputs)) {
  const entry = Object.entries(entries).find(([, file]) => meta.entryPoint && path.resolve(root, meta.entryPoint) === file);
  if (!entry) continue;
  const name = `${entry[0]}.js`;
  assets[name] = url(file);
  // Everything statically imported from an entry is app shell; dynamically imported chunks are lazy.
  const stack = [file];
  while (stack.length) {
    const current = stack.pop();
    if (precache.has(url(current))) continue;
    precache.add(url(current));
    for (const imported of outputs[current].imports) {
      if (imported.kind === 'import-statement' && outputs[imported.path]) stack.push(imported.path);
    }
  }
}
assets['zxing_reader.wasm'] = wasmUrl;
const lazy = [...Object.keys(outputs).map(url).filter((u) => !precache.has(u)), wasmUrl];
const version = createHash('sha256').update(JSON.stringify({ assets, precache: [...precache], lazy })).digest('hex').slice(0, 12);
await writeFile(path.join(outdir, 'asset-manifest.json'),
  JSON.stringify({ version, assets, precache: [...precache].sort(), lazy: lazy.sort() }, null, 2));
// Precompressed copies: the server sends them to browsers that accept gzip (see server/static.py).
for (const file of Object.keys(outputs)) {
  const full = path.join(root, file);
  await writeFile(`${full}.gz`, gzipSync(await readFile(full), { level: 9 }));
}
await writeFile(path.join(outdir, `${wasmName}.gz`), gzipSync(wasmBytes, { level: 9 }));
const old = `${finalDir}.old-${process.pid}`;
await rename(finalDir, old).catch(() => undefined);
await rename(outdir, finalDir);
await rm(old, { recursive: true, force: true });
console.log(`PWA built: version ${version}, ${precache.size} shell file(s), ${lazy.length} lazy file(s) in pwa/static/dist`);
