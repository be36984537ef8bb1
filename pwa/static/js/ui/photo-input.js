// Seal photo: taken with the phone camera (file input with capture), compressed on the device, previewed.
import { compressImage } from '../lib/image.js';
import { deviceTime } from '../lib/ids.js';
import { t } from '../lib/i18n.js';
import { formatBytes, h, nextId } from './dom.js';

export function photoInput() {
  const id = nextId('photo');
  const input = h('input', {
    id, type: 'file', accept: 'image/*', capture: 'environment', class: 'visually-hidden', 'data-role': 'seal-photo',
    tabindex: '-1', 'aria-hidden': 'true',
  });
  const status = h('p', { class: 'hint', role: 'status', 'data-role': 'photo-status' }, t('photo.none'));
  const preview = h('div', { class: 'thumbs' });
  const photos = [];
  let busy = Promise.resolve();

  input.addEventListener('change', () => {
    const file = input.files[0];
    if (!file) return;
    status.textContent = t('photo.compressing');
    busy = (async () => {
      try {
        const compressed = await compressImage(file);
        photos.push({ ...compressed, capturedAt: deviceTime() });
        const img = h('img', { src: URL.createObjectURL(compressed.blob), alt: t('photo.alt', { n: photos.length }) });
        preview.append(img);
        status.textContent = t('photo.ready', { n: photos.length, size: formatBytes(compressed.blob.size) });
      } catch {
        status.textContent = t('photo.failed');
      }
      input.value = '';
    })();
  });
  const el = h('div', { class: 'photo-input' },
    h('button', { type: 'button', class: 'secondary', onclick: () => input.click() }, t('photo.take')), input,
    h('p', { class: 'hint' }, t('photo.rule')), status, preview);
  return { el, photos: async () => { await busy; return photos; } };
}
