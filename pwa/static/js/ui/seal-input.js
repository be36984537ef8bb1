// The seal-number control used at every handoff: scan with the camera (live), read from a photo of the code,
// or type it. The result is compared with the document's seal and a mismatch is shown loudly.
import { SEAL_PATTERN, normaliseSealNumber, scanSeal } from '../lib/scanner.js';
import { t } from '../lib/i18n.js';
import { field, h, nextId } from './dom.js';

const CAMERA_SCAN_MS = 60000; // how long the live camera looks for a code before it gives up
const CAMERA_FRAME_GAP_MS = 300; // pause between two frames read, so the phone stays responsive

/**
 * @typedef {object} SealInput
 * @property {HTMLElement} el
 * @property {() => string|null} value  the normalised number entered, or null when there is none
 * @property {() => boolean} match  whether it is the document's seal number
 * @property {() => Promise<void>} stop  turns the camera off (after the handoff is saved)
 */

/** Writes the verdict line: a text and a tone (none, 'ok', 'warn' or 'alarm').
 * @typedef {(text: string, tone?: 'ok'|'warn'|'alarm') => void} Say */

/**
 * @param {string} expected  the seal number bound to the document
 * @param {(value: string|null) => void} [onChange]
 * @returns {SealInput}
 */
export function sealInput(expected, onChange) {
  const controls = sealControls(nextId('seal'));
  const { input, fileInput } = controls;
  const say = verdictWriter(controls.verdict);
  const show = () => {
    const value = normaliseSealNumber(input.value);
    compareWithExpected(say, value, expected);
    onChange?.(value || null);
  };
  /** @param {string} number */
  const accept = (number) => {
    input.value = number;
    show();
  };
  const camera = liveCamera(controls.video, say, accept);
  input.addEventListener('input', show);
  fileInput.addEventListener('change', () => fileInput.files[0] && readFromPhoto(fileInput.files[0], say, accept));
  return {
    el: sealLayout(expected, controls, camera.toggle),
    value: () => normaliseSealNumber(input.value) || null,
    match: () => normaliseSealNumber(input.value) === expected,
    stop: camera.stop,
  };
}

/** The typed number, the verdict line, the hidden photo picker and the (hidden) live camera view. */
function sealControls(id) {
  const input = h('input', {
    id, type: 'text', inputmode: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    placeholder: 'BP00012345', 'data-role': 'seal-number',
  });
  const verdict = h('p', { class: 'verdict', role: 'status', 'aria-live': 'assertive', 'data-role': 'seal-verdict' });
  const fileInput = h('input', {
    type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', id: `${id}-file`,
    'data-role': 'seal-image', tabindex: '-1', 'aria-hidden': 'true',
  });
  const video = h('video', { class: 'scanner-video', playsinline: true, muted: true,
    hidden: true });
  return { input, verdict, fileInput, video };
}

/**
 * @param {HTMLElement} verdict
 * @returns {Say}
 */
function verdictWriter(verdict) {
  return (text, tone) => {
    verdict.className = tone ? `verdict ${tone}` : 'verdict';
    verdict.textContent = text;
  };
}

/** Says whether the number is well formed and the document's seal; a mismatch is an alarm. */
function compareWithExpected(/** @type {Say} */ say, /** @type {string} */ value, /** @type {string} */ expected) {
  if (!value) say('');
  else if (!SEAL_PATTERN.test(value)) say(t('seal.badFormat'), 'warn');
  else if (value === expected) say(t('seal.match', { number: value }), 'ok');
  else say(t('seal.mismatch', { number: value, expected }), 'alarm');
}

/** Reads the code from a photo of the seal; says so when there is none or the reader fails. */
async function readFromPhoto(/** @type {File} */ file, /** @type {Say} */ say, /** @type {(n: string) => void} */ accept) {
  say(t('seal.reading'));
  try {
    const number = await scanSeal(file);
    if (!number) {
      say(t('seal.notFound'), 'warn');
      return;
    }
    accept(number);
  } catch {
    say(t('seal.scannerFailed'), 'warn');
  }
}

/**
 * The live camera: `toggle` opens it and reads frames until a code is found (or a minute has passed), or
 * closes it when it is open; `stop` closes it.
 * @param {HTMLVideoElement} video
 * @param {Say} say
 * @param {(number: string) => void} accept
 */
function liveCamera(video, say, accept) {
  /** @type {MediaStream|null} */
  let stream = null;

  async function stop() {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
  }

  /** @returns {Promise<boolean>} false when the camera cannot be had (no permission, no camera) */
  async function open() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      say(t('seal.noCamera'), 'warn');
      return false;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => undefined);
    say(t('seal.pointCamera'));
    return true;
  }

  async function readFrames() {
    const started = Date.now();
    while (stream && Date.now() - started < CAMERA_SCAN_MS) {
      try {
        const number = video.readyState >= 2 ? await scanSeal(video) : null;
        if (number) {
          accept(number);
          break;
        }
      } catch { /* a frame that cannot be read: try the next */ }
      await new Promise((resolve) => { setTimeout(resolve, CAMERA_FRAME_GAP_MS); });
    }
  }

  async function toggle() {
    if (stream) return stop();
    if (!(await open())) return undefined;
    await readFrames();
    return stop();
  }

  return { toggle, stop };
}

/** The label with the expected number, the scan and photo buttons, the camera view and the verdict. */
function sealLayout(expected, { input, verdict, fileInput, video }, onScan) {
  return h('div', { class: 'seal-input' },
    field(t('seal.label'), input, t('seal.expected', { expected })),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: onScan }, t('seal.scan')),
      h('button', { type: 'button', class: 'secondary', onclick: () => fileInput.click() }, t('seal.fromPhoto')),
      fileInput),
    video, verdict);
}
