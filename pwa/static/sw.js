// Segel service worker: precaches a versioned app shell, serves it offline, removes old caches on activate.
const VERSION = 'segel-shell-v1';
const SHELL = ['/app', '/static/css/segel.css', '/static/js/register-sw.js', '/manifest.webmanifest',
  '/static/icons/icon-192.png', '/static/icons/icon-512.png'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((key) => key.startsWith('segel-shell-') && key !== VERSION).map((key) => caches.delete(key)))));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/sync/') || url.pathname.startsWith('/api/') || url.pathname === '/healthz') return;
  if (event.request.mode === 'navigate') {
    // Network first for pages, so a fresh deploy is seen; the cached shell when offline.
    event.respondWith(fetch(event.request).catch(() => caches.match('/app')));
    return;
  }
  event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
});
