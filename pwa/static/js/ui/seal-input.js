// The seal-number control used at every handoff: scan with the camera (live), read from a photo of the code,
// or type it. The result is compared with the document's seal and a mismatch is shown loudly.
import { SEAL_PATTERN, normaliseSealNumber, scanSeal } from '../lib/scanner.js';
import { t } from '../lib/i18n.js';
import { field, h, nextId } from './dom.js';

/**
 * @param {string} expected  the seal number bound to the document
 * @param {(value: string|null) => void} [onChange]
 * @returns {{el: HTMLElement, value: () => string|null, match: () => boolean}}
 */
export function sealInput(expected, onChange) {
  const id = nextId('seal');
  const input = h('input', {
    id, type: 'text', inputmode: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
    placeholder: 'BP00012345', 'data-role': 'seal-number',
  });
  const verdict = h('p', { class: 'verdict', role: 'status', 'aria-live': 'assertive', 'data-role': 'seal-verdict' });
  const fileInput = h('input', {
    type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', id: `${id}-file`,
    'data-role': 'seal-image', tabindex: '-1', 'aria-hidden': 'true',
  });
  const video = h('video', { class: 'scanner-video', playsinline: true, muted: true, hidden: true });
  let stream = null;

  function show() {
    const value = normaliseSealNumber(input.value);
    verdict.className = 'verdict';
    if (!value) verdict.textContent = '';
    else if (!SEAL_PATTERN.test(value)) {
      verdict.textContent = t('seal.badFormat');
      verdict.classList.add('warn');
    } else if (value === expected) {
      verdict.textContent = t('seal.match', { number: value });
      verdict.classList.add('ok');
    } else {
      verdict.textContent = t('seal.mismatch', { number: value, expected });
      verdict.classList.add('alarm');
    }
    onChange?.(value || null);
  }

  async function fromImage(file) {
    verdict.className = 'verdict';
    verdict.textContent = t('seal.reading');
    try {
      const number = await scanSeal(file);
      if (!number) {
        verdict.textContent = t('seal.notFound');
        verdict.classList.add('warn');
        return;
      }
      input.value = number;
      show();
    } catch {
      verdict.textContent = t('seal.scannerFailed');
      verdict.classList.add('warn');
    }
  }

  async function stopCamera() {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
  }

  async function startCamera() {
    if (stream) return stopCamera();
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      verdict.textContent = t('seal.noCamera');
      verdict.className = 'verdict warn';
      return undefined;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play().catch(() => undefined);
    verdict.textContent = t('seal.pointCamera');
    verdict.className = 'verdict';
    const started = Date.now();
    while (stream && Date.now() - started < 60000) {
      try {
        const number = video.readyState >= 2 ? await scanSeal(video) : null;
        if (number) {
          input.value = number;
          show();
          break;
        }
      } catch { /* a frame that cannot be read: try the next */ }
      await new Promise((resolve) => { setTimeout(resolve, 300); });
    }
    return stopCamera();
  }

  input.addEventListener('input', show);
  fileInput.addEventListener('change', () => fileInput.files[0] && fromImage(fileInput.files[0]));
  const el = h('div', { class: 'seal-input' },
    field(t('seal.label'), input, t('seal.expected', { expected })),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: startCamera }, t('seal.scan')),
      h('button', { type: 'button', class: 'secondary', onclick: () => fileInput.click() }, t('seal.fromPhoto')),
      fileInput),
    video, verdict);
  return {
    el,
    value: () => {
      const value = normaliseSealNumber(input.value);
      return value || null;
    },
    match: () => normaliseSealNumber(input.value) === expected,
    stop: stopCamera,
  };
}
