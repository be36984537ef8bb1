// Segel service worker. The server fills in BUILD (version and file lists from the build's asset manifest),
// so a new deploy is a new worker: it precaches the new app shell, waits until the user accepts the update,
// and removes old caches on activate.
const BUILD = /* BUILD */ { version: 'dev', shell: ['/app'], lazy: [] } /* END BUILD */;
const CACHE = `segel-shell-${BUILD.version}`;
const LAZY = new Set(BUILD.lazy);
const NAVIGATION_TIMEOUT_MS = 3000;

// Hashed bundle names never change their bytes: the copy the page has just downloaded (HTTP cache, a year,
// immutable) is the one to keep, so install does not fetch it a second time over a slow link. Unhashed files
// (the page, CSS, schemas: `no-cache`) are revalidated, a small 304 when the page has just loaded them, and
// asked for as a signed-out visitor sees them: the same shell for every field user, and never the redirect
// a staff member's /app answers with (staff go to /office).
const HASHED = /\.([0-9a-f]{8,}|[A-Z0-9]{8})\.[a-z0-9]+$/;

// `self`, typed as what it is here (lib.webworker types it as any worker's scope), so tsc knows the
// service worker's events (install, activate, message, fetch) and its clients.
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(BUILD.shell.map((url) => new Request(url,
    HASHED.test(url) ? { cache: 'default' } : { cache: 'no-cache', credentials: 'omit' })))));
});

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    // Carry over lazily fetched files (the scanner's wasm) that this version still uses: hashed names, same bytes.
    const current = await caches.open(CACHE);
    for (const key of await caches.keys()) {
      if (!key.startsWith('segel-shell-') || key === CACHE) continue;
      const old = await caches.open(key);
      for (const request of await old.keys()) {
        if (LAZY.has(new URL(request.url).pathname) && !(await current.match(request))) {
          await current.put(request, await old.match(request));
        }
      }
      await caches.delete(key);
    }
    await sw.clients.claim();
  })());
});

sw.addEventListener('message', (event) => {
  if (event.data?.type === 'SKIP_WAITING') sw.skipWaiting();
  if (event.data?.type === 'CACHE_LAZY') {
    // The page asks for the lazily loaded files (the scanner's wasm) while there is signal.
    const reply = event.ports[0];
    event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(BUILD.lazy))
      .then(() => reply?.postMessage({ ok: true }), (error) => reply?.postMessage({ ok: false, error: String(error) })));
  }
});

function fromNetworkWithin(request, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('slow network')), ms);
    fetch(request).then((response) => { clearTimeout(timer); resolve(response); },
      (error) => { clearTimeout(timer); reject(error); });
  });
}

sw.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== sw.location.origin) return;
  if (url.pathname.startsWith('/sync/') || url.pathname.startsWith('/auth/') || url.pathname.startsWith('/api/')
    || url.pathname === '/healthz' || url.pathname === '/sw.js') return;
  if (request.mode === 'navigate' && (url.pathname === '/' || url.pathname === '/app')) {
    // Network first so a deploy is seen at once, but never wait long: the cached shell opens offline.
    // A redirect (staff are sent to /office) is followed, not replaced by the cached shell.
    event.respondWith(fromNetworkWithin(request, NAVIGATION_TIMEOUT_MS)
      .then((response) => (response.ok || response.type === 'opaqueredirect' ? response
        : caches.match('/app').then((hit) => hit || response)))
      .catch(() => caches.match('/app')));
    return;
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(request, { ignoreSearch: url.pathname.startsWith('/schemas/') });
    if (hit) return hit;
    const response = await fetch(request);
    if (response.ok && LAZY.has(url.pathname)) await cache.put(request, response.clone());
    return response;
  })());
});
