// Registers the service worker so the app shell opens with no network (offline-first).
(function registerServiceWorker() {
  const status = document.getElementById('sw-status');
  if (!('serviceWorker' in navigator)) {
    if (status) status.textContent = 'Peramban ini tidak mendukung mode luring (offline).';
    return;
  }
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(() => {
    if (status) status.textContent = 'Siap dipakai, juga tanpa sinyal.';
  }).catch(() => {
    if (status) status.textContent = 'Mode luring belum aktif; muat ulang halaman saat ada sinyal.';
  });
})();
