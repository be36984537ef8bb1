// Shared form helpers: validation problems shown in the user's language, and the optional GPS fix.
import { t, fieldLabel } from '../lib/i18n.js';
import { h } from './dom.js';

export function showProblems(container, error) {
  container.textContent = '';
  if (error?.name === 'RecordInvalid') {
    container.append(h('p', {}, t('form.fix')),
      h('ul', {}, error.problems.map((p) => h('li', { 'data-field': p.field }, problemText(p)))));
  } else {
    container.append(h('p', {}, t('form.saveFailed', { message: error?.message || String(error) })));
  }
  container.scrollIntoView?.({ block: 'center' });
}

function problemText(problem) {
  const key = `problem.${problem.keyword}`;
  const text = t(key, { field: fieldLabel(problem.field) });
  return text === key ? `${fieldLabel(problem.field)}: ${problem.message}` : text;
}

/** The device position if the user allows it, within a few seconds; never blocks a handoff. */
export function currentPlace(timeoutMs = 4000) {
  if (!navigator.geolocation) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    navigator.geolocation.getCurrentPosition((position) => {
      clearTimeout(timer);
      resolve({
        lat: position.coords.latitude, lon: position.coords.longitude,
        accuracy_m: Math.min(100000, Math.round(position.coords.accuracy || 0)),
      });
    }, () => {
      clearTimeout(timer);
      resolve(null);
    }, { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 60000 });
  });
}
