// "Serah terima" screen of the courier's app: the drive-thru handovers waiting for this courier, and a
// "Pindai QR" button that reads the QR code on the office's handover screen and confirms receipt through the
// office's own confirm route (only the named courier, once, with its CSRF token).
//
// Least data: the waiting list holds the handover id, office name, number of envelopes and time only; it is
// fetched when the screen opens and never stored on the phone. Confirming needs signal, like the office's
// screen the courier is standing in front of.
import { t } from '../lib/i18n.js';
import { getDetector } from '../lib/scanner.js';
import { formatTime, h } from './dom.js';

const SCAN_MS = 60000; // how long the camera looks for the QR code before giving up
const FRAME_GAP_MS = 300; // pause between two frames read, so the phone stays responsive
const CONFIRM_PATH = /^\/office\/handovers\/(handover:[A-Za-z0-9_-]+)\/confirm$/;

/**
 * A text of this screen, from the catalogue's "pwa:handover.<key>" entries (lib/i18n.js).
 * @param {string} key @param {Object<string, string|number>} [vars]
 */
function tx(key, vars = {}) {
  return t(`handover.${key}`, vars);
}

/** The menu link to this screen, for couriers only (used by the documents screen). */
export function handoverLink(ctx) {
  if (ctx.me?.role !== 'courier') return null;
  return h('a', { class: 'button secondary block', href: '#/handover', 'data-role': 'handover-link' }, tx('link'));
}

/**
 * The handover id in a scanned QR code, or null when it is not this server's confirm address.
 * @param {string} text
 * @returns {string|null}
 */
export function handoverIdOf(text) {
  let url;
  try {
    url = new URL(String(text).trim());
  } catch {
    return null;
  }
  if (url.origin !== location.origin) return null;
  const match = CONFIRM_PATH.exec(decodeURIComponent(url.pathname));
  return match ? match[1] : null;
}

/** The reason the server gave (JSON errors), or the HTTP status. */
async function reasonOf(/** @type {Response} */ response) {
  try {
    const body = await response.json();
    if (body?.reason) return String(body.reason);
  } catch { /* not JSON */ }
  return `HTTP ${response.status}`;
}

/** @typedef {{handover_id: string, office_name: string, envelopes: number, created_at: string}} Waiting */

/** @returns {Promise<Waiting[]>} */
async function loadWaiting() {
  const response = await fetch('/office/handovers/waiting', {
    credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store',
  });
  if (!response.ok) throw new Error(await reasonOf(response));
  return (await response.json()).handovers;
}

/**
 * Confirms through the office's confirm route: its page carries the CSRF token of this session, and the
 * server alone decides (named courier only, once).
 * @param {string} handoverId
 * @returns {Promise<'confirmed'|'already'>}
 */
async function confirmHandover(handoverId) {
  const path = `/office/handovers/${handoverId}/confirm`;
  const headers = { Accept: 'application/json' }; // errors come back as JSON with a reason; pages as HTML
  const page = await fetch(path, { credentials: 'same-origin', headers, cache: 'no-store' });
  if (!page.ok) throw new Error(await reasonOf(page));
  const html = new DOMParser().parseFromString(await page.text(), 'text/html');
  const token = /** @type {HTMLInputElement|null} */ (html.querySelector('form input[name="csrf"]'));
  if (!token) return 'already';
  const posted = await fetch(path, {
    method: 'POST', credentials: 'same-origin', headers,
    body: new URLSearchParams({ csrf: token.value }),
  });
  if (!posted.ok) throw new Error(await reasonOf(posted));
  return 'confirmed';
}

/**
 * The live camera reading QR codes until one is found (or a minute has passed).
 * @param {HTMLVideoElement} video
 * @returns {{read: () => Promise<string|null>, stop: () => void, open: () => boolean}}
 */
function qrCamera(video) {
  /** @type {MediaStream|null} */
  let stream = null;
  const stop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
  };
  async function read() {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => undefined);
    const { detector } = await getDetector();
    const started = Date.now();
    try {
      while (stream && Date.now() - started < SCAN_MS) {
        try {
          const found = video.readyState >= 2 ? await detector.detect(video) : [];
          if (found.length) return found[0].rawValue;
        } catch { /* a frame that cannot be read: try the next */ }
        await new Promise((resolve) => { setTimeout(resolve, FRAME_GAP_MS); });
      }
      return null;
    } finally {
      stop();
    }
  }
  return { read, stop, open: () => stream !== null };
}

export async function handoverScreen(ctx) {
  const status = h('p', { class: 'verdict', role: 'status', 'aria-live': 'assertive', 'data-role': 'handover-status' });
  const say = (/** @type {string} */ text, /** @type {string} */ tone = '') => {
    status.className = tone ? `verdict ${tone}` : 'verdict';
    status.textContent = text;
  };
  const list = h('ul', { class: 'cards', 'data-role': 'waiting-handovers' });
  /** @type {Waiting[]} */
  let waiting = [];
  const showList = async () => {
    try {
      waiting = await loadWaiting();
    } catch (error) {
      say(tx('loadFailed', { reason: navigator.onLine ? error.message : tx('offline') }), 'warn');
      return;
    }
    list.replaceChildren(...(waiting.length ? waiting.map((item) => h('li', { class: 'card', 'data-handover': item.handover_id },
      tx('envelopes', { n: item.envelopes, office: item.office_name, time: formatTime(item.created_at, ctx.lang) })))
      : [h('li', { class: 'muted' }, tx('none'))]));
  };
  const video = h('video', { class: 'scanner-video', playsinline: true, muted: true, hidden: true });
  const camera = qrCamera(video);
  const button = h('button', { type: 'button', class: 'primary block', 'data-role': 'scan-qr' }, tx('scan'));
  let cancelled = false;
  button.addEventListener('click', async () => {
    if (camera.open()) { cancelled = true; camera.stop(); say(''); return; }
    cancelled = false;
    button.textContent = tx('stopScan');
    say(tx('pointCamera'));
    let text;
    try {
      text = await camera.read();
    } catch {
      say(tx('noCamera'), 'warn');
      return;
    } finally {
      button.textContent = tx('scan');
    }
    if (cancelled) return;
    if (text === null) { say(tx('notFound'), 'warn'); return; }
    const handoverId = handoverIdOf(text);
    if (!handoverId) { say(tx('notHandover'), 'alarm'); return; }
    say(tx('confirming'));
    const envelopes = waiting.find((item) => item.handover_id === handoverId)?.envelopes;
    try {
      const outcome = await confirmHandover(handoverId);
      if (outcome === 'already') say(tx('already'), 'ok');
      else say(envelopes ? tx('confirmed', { n: envelopes }) : tx('confirmedPlain'), 'ok');
    } catch (error) {
      say(tx('failed', { reason: navigator.onLine ? error.message : tx('offline') }), 'alarm');
      return;
    }
    await showList();
  });
  await showList();
  return h('div', { 'data-role': 'handover-screen' },
    h('h1', {}, tx('title')),
    h('p', {}, tx('intro')),
    button, video, status,
    h('section', { class: 'group', 'aria-label': tx('waiting') }, h('h2', {}, tx('waiting')), list),
    h('a', { class: 'button secondary', href: '#/' }, tx('back')));
}
