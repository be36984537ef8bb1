// The words of the app: Bahasa Indonesia first, English switchable. The texts live in the project's one
// translation catalogue (locale/en/LC_MESSAGES/segel.po, entries with a "pwa:<key>" context); pwa/build.mjs
// writes them to static/i18n/<lang>.json, bundled here, so the app needs no request to speak.
import id from '../../i18n/id.json';
import en from '../../i18n/en.json';

const LANG_KEY = 'segel.lang';

const dictionaries = { id, en };

export function getLang() {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'id';
  } catch {
    return 'id';
  }
}

export function setLang(lang) {
  localStorage.setItem(LANG_KEY, lang === 'en' ? 'en' : 'id');
}

/** The text for `key` in the chosen language (Indonesian when English lacks it), with {params} filled in. */
export function t(key, params = {}) {
  const lang = getLang();
  const text = dictionaries[lang][key] ?? id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (params[name] ?? `{${name}}`));
}

/** A record field path shown as words ("representative.name" -> "Nama perwakilan"). */
export function fieldLabel(path) {
  const key = `field.${path}`;
  const text = t(key);
  return text === key ? path : text;
}
