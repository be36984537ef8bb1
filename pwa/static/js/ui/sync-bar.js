// The sync bar, always visible: online or offline, last successful sync, what waits to be sent, what the
// server refused (with its reason and what to do), and the storage used on the phone.
import * as data from '../data/index.js';
import { t, getLang } from '../lib/i18n.js';
import { formatBytes, formatTime, h } from './dom.js';

export function mountSyncBar(container) {
  const render = async (status) => {
    const storage = await data.storageEstimate().catch(() => null);
    const lang = getLang();
    const online = status.online;
    container.textContent = '';
    container.dataset.online = String(online);
    container.append(...[
      h('p', { class: 'sync-line' },
        // Green only when the server answers: online but unreachable is as good as offline for syncing.
        h('span', { class: `dot ${online && status.reachable !== false ? 'on' : 'off'}`, 'aria-hidden': 'true',
          'data-role': 'sync-dot' }),
        h('strong', { 'data-role': 'connectivity' },
          !online ? t('sync.offline') : status.reachable === false ? t('sync.unreachable') : t('sync.online')), ' · ',
        h('span', { 'data-role': 'last-sync' }, t('sync.last', { time: formatTime(status.lastSync, lang) }))),
      h('p', { class: 'sync-line' },
        h('span', { 'data-role': 'pending-records', 'data-count': status.pendingRecords },
          t('sync.pendingRecords', { n: status.pendingRecords })), ' · ',
        h('span', { 'data-role': 'pending-photos', 'data-count': status.pendingPhotos },
          t('sync.pendingPhotos', { n: status.pendingPhotos })),
        storage ? [' · ', h('span', { 'data-role': 'storage', class: storage.nearlyFull ? 'alarm' : '',
          title: `${formatBytes(storage.usage)} / ${formatBytes(storage.quota)}` },
        t(storage.nearlyFull ? 'storage.nearlyFull' : 'storage.used', {
          used: formatBytes(storage.usage), quota: formatBytes(storage.quota) }))] : null),
      status.signedIn === false || status.needsLogin ? h('p', { class: 'sync-line warn login-line' },
        h('span', {}, t(status.needsLogin ? 'sync.loginAgain' : 'sync.notSignedIn')),
        h('a', { class: 'button small', href: loginHref(), 'data-role': 'login' }, t('nav.login'))) : null,
      status.denials.length ? h('details', { class: 'denials', 'data-role': 'denials' },
        h('summary', { class: 'alarm' }, t('sync.refused', { n: status.denials.length })),
        h('ul', {}, status.denials.map((d) => h('li', { 'data-denied': d.id },
          h('code', {}, d.id.split(':')[0]), ' — ', d.reason))),
        h('p', { class: 'hint' }, t('sync.refusedWhat')),
        h('button', { type: 'button', class: 'secondary small', onclick: () => data.retryDenied() }, t('sync.retry')))
        : null].filter(Boolean));
  };
  data.onStatus(render);
  data.notify();
  setInterval(() => data.notify(), 30000);
}

export function loginHref() {
  return `/auth/login?next=${encodeURIComponent('/app' + location.hash)}`;
}
