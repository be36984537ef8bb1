// PWA entry point: boots the data layer (the only owner of PouchDB, js/data/), the sync bar and the screens.
import * as data from './data/index.js';
import { getLang, setLang, t } from './lib/i18n.js';
import { warmScanner } from './lib/scanner.js';
import { preloadSchemas } from './lib/validate.js';
import { documentScreen, documentsScreen, handoffScreen, pickupScreen } from './ui/courier.js';
import { handoverScreen } from './ui/handover.js';
import { h } from './ui/dom.js';
import { loginHref, mountSyncBar } from './ui/sync-bar.js';
import { stopsScreen, visitScreen } from './ui/van.js';
import { watchForUpdates } from './ui/update.js';

const HANDOFF_KINDS = new Set(['delivered', 'failed_attempt', 'returned', 'lost']);
const LIST_SCREENS = new Set(['docs', '', 'doc', 'stops']);
const root = document.getElementById('app');
const ctx = {
  me: null,
  lang: getLang(),
  navigate: (hash) => { if (location.hash === hash) route(); else location.hash = hash; },
  flash: (message) => { ctx.message = message; },
  message: null,
};

function tabs() {
  const role = ctx.me?.role;
  const items = [];
  if (role !== 'van_operator') items.push(['#/', t('nav.documents')]);
  if (!role || role === 'van_operator' || role === 'admin' || role === 'staff') items.push(['#/stops', t('nav.stops')]);
  const current = location.hash.startsWith('#/stops') || location.hash.startsWith('#/visit') ? '#/stops' : '#/';
  return h('nav', { class: 'tabs', 'aria-label': t('nav.label') }, items.map(([href, label]) =>
    h('a', { href, class: 'tab', 'aria-current': href === current ? 'page' : null }, label)));
}

async function screenFor(hash) {
  const [, name = '', ...rest] = hash.replace(/^#/, '').split('/');
  const arg = rest.map(decodeURIComponent).join('/');
  if (name === 'doc') return documentScreen(ctx, arg);
  if (name === 'pickup') return pickupScreen(ctx);
  if (name === 'handover') return handoverScreen(ctx);
  if (name === 'handoff') {
    const [kind, ...idParts] = rest.map(decodeURIComponent);
    if (HANDOFF_KINDS.has(kind)) return handoffScreen(ctx, kind, idParts.join('/'));
  }
  if (name === 'stops') return stopsScreen(ctx);
  if (name === 'visit') return visitScreen(ctx, arg || null);
  if (ctx.me?.role === 'van_operator') return stopsScreen(ctx);
  return documentsScreen(ctx);
}

let routing = 0;
async function route() {
  const mine = ++routing;
  ctx.me = await data.currentUser();
  let screen;
  try {
    screen = await screenFor(location.hash || '#/');
  } catch (error) {
    screen = h('div', { role: 'alert' }, h('h1', {}, t('error.title')), h('p', {}, String(error?.message || error)));
  }
  if (mine !== routing) return;
  const message = ctx.message ? h('p', { class: 'flash', role: 'status', 'data-role': 'flash' }, ctx.message) : null;
  ctx.message = null;
  root.replaceChildren(tabs(), message || '', screen);
  root.dataset.ready = 'true';
  root.dataset.screen = (location.hash || '#/').split('/')[1] || 'docs';
  const heading = root.querySelector('h1');
  if (heading && location.hash) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
}

function renderHeader() {
  const header = document.getElementById('user-actions');
  if (!header) return;
  const other = getLang() === 'id' ? 'en' : 'id';
  header.replaceChildren(
    ctx.me ? h('span', { class: 'who', 'data-role': 'who' }, ctx.me.name) : h('a', { class: 'button small', href: loginHref(),
      'data-role': 'login' }, t('nav.login')),
    h('button', { type: 'button', class: 'small secondary', lang: other, 'data-role': 'lang',
      onclick: () => { setLang(other); ctx.lang = other; document.documentElement.lang = other; renderHeader(); route(); data.notify(); } },
    other === 'en' ? 'English' : 'Bahasa Indonesia'));
}

/** A staff member or admin opened the app: point them to the office pages and open nothing local. */
function toOffice() {
  root.replaceChildren(h('section', { class: 'card', 'data-role': 'office-user' },
    h('h1', {}, t('office.title')), h('p', {}, t('office.text')),
    h('p', {}, h('a', { class: 'button', href: '/office', 'data-role': 'to-office' }, t('office.go')))));
  root.dataset.ready = 'true';
  root.dataset.screen = 'office';
  location.replace('/office');
}

async function boot() {
  document.documentElement.lang = getLang();
  if (await data.officeCheck()) { toOffice(); return; } // before anything opens the local databases
  mountSyncBar(document.getElementById('sync-bar'));
  watchForUpdates(document.getElementById('update-banner'));
  ctx.me = await data.currentUser();
  renderHeader();
  addEventListener('hashchange', route);
  await route();
  let dataVersion = 0;
  data.onStatus(async (status) => {
    if (status.officeUser) { data.stopSync(); toOffice(); return; } // the server answered after an offline start
    if (status.me?.user_id !== ctx.me?.user_id) {
      ctx.me = status.me;
      renderHeader();
      route();
    } else if (status.dataVersion !== dataVersion && LIST_SCREENS.has(root.dataset.screen)) {
      route(); // pulled or purged records: refresh lists, never a form being filled in
    }
    dataVersion = status.dataVersion;
  });
  data.startData();
  // Warm-ups that are not needed to show pulled records wait for the first pull (20 s at most), so a new
  // phone on a slow link gets its first documents before the schemas and the scanner's wasm share the line.
  const firstPull = Promise.race([data.afterFirstPull(), new Promise((done) => { setTimeout(done, 20000); })]);
  firstPull.then(() => preloadSchemas(['handoff', 'photo', 'visit']));
  if (navigator.onLine && ctx.me?.role !== 'van_operator') {
    const idle = (fn) => setTimeout(() => (globalThis.requestIdleCallback || setTimeout)(fn), 1500);
    const later = (fn) => firstPull.then(() => idle(fn));
    later(() => warmScanner().then((kind) => { document.documentElement.dataset.scanner = kind; })
      .catch(() => undefined));
  }
}

window.segelData = data; // for the browser tests and scripts/screens, which seed a fresh profile
boot();
