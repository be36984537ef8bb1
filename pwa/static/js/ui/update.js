// "New version ready": the service worker installs a new version in the background and waits; we offer a
// reload, which tells it to take over (it never does so by itself mid-delivery).
import { t } from '../lib/i18n.js';
import { h } from './dom.js';

export function watchForUpdates(banner) {
  if (!('serviceWorker' in navigator) || !banner) return;
  const offer = (worker) => {
    banner.hidden = false;
    banner.replaceChildren(h('p', {}, t('update.ready')), h('button', {
      type: 'button', class: 'primary small', 'data-role': 'update',
      onclick: () => worker.postMessage({ type: 'SKIP_WAITING' }),
    }, t('update.reload')));
  };
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const installing = registration.installing;
      installing?.addEventListener('statechange', () => {
        if (installing.state === 'installed' && navigator.serviceWorker.controller) offer(installing);
      });
    });
    document.documentElement.dataset.sw = 'registered';
  }).catch(() => { document.documentElement.dataset.sw = 'failed'; });
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (reloading || !banner.dataset.accepted) return;
    reloading = true;
    location.reload();
  });
  banner.addEventListener('click', () => { banner.dataset.accepted = 'true'; }, true);
}
