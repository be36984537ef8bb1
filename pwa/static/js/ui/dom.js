// A tiny DOM builder: h('button', {class: 'primary', onclick}, 'Simpan'). Text is always set as text, never
// as HTML, so record content can never inject markup.

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Object<string, any>|null} [attrs]  attributes; `on…` functions become listeners; `value` and `checked` are set as properties
 * @param {...any} children  nodes, text, or (nested) arrays of them; null, undefined and false are skipped
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = /** @type {HTMLElementTagNameMap[K] & {value?: unknown, checked?: boolean}} */ (document.createElement(tag));
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: every control has a visible label tied to it. */
export function field(label, control, hint) {
  if (!control.id) control.id = nextId();
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** @returns {{input: HTMLInputElement, el: HTMLLabelElement}} */
export function checkbox(label, attrs = {}) {
  const input = h('input', { type: 'checkbox', id: nextId('c'), ...attrs });
  return { input, el: h('label', { class: 'check', for: input.id }, input, h('span', {}, label)) };
}

/** @param {[string, string][]} options  value and label of each option */
export function select(options, attrs = {}) {
  return h('select', attrs, options.map(([value, label]) => h('option', { value }, label)));
}

const TIME_FORMATS = new Map();

/** One format for every time on the phone ("17 Nov 2026 10.47"), in the phone's zone, whatever offset the
 * record was written with; '—' when there is no readable time. */
export function formatTime(iso, lang) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return '—';
  const locale = lang === 'en' ? 'en-GB' : 'id-ID';
  if (!TIME_FORMATS.has(locale)) {
    TIME_FORMATS.set(locale, new Intl.DateTimeFormat(locale,
      { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' }));
  }
  return TIME_FORMATS.get(locale).format(date);
}

const DAY_FORMATS = new Map();

/** A day key ("2026-11-17", a stop's date, already the office's own day) as "17 Nov 2026"; the text as it is
 * when it is not a day. */
export function formatDay(day, lang) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(day ?? ''));
  if (!match) return String(day ?? '—');
  const locale = lang === 'en' ? 'en-GB' : 'id-ID';
  if (!DAY_FORMATS.has(locale)) {
    DAY_FORMATS.set(locale, new Intl.DateTimeFormat(locale,
      { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }));
  }
  return DAY_FORMATS.get(locale).format(new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])));
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}
