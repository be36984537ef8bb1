// The words of the app: Bahasa Indonesia first, English switchable. The texts live in the project's one
// translation catalogue (locale/en/LC_MESSAGES/segel.po, entries with a "pwa:<key>" context); pwa/build.mjs
// writes them to static/i18n/<lang>.json, bundled here, so the app needs no request to speak.
import id from '../../i18n/id.json';
import en from '../../i18n/en.json';

const COOKIE = 'lang';
const LEGACY_KEY = 'segel.lang'; // where the app kept its choice before it shared the pages' cookie
const ONE_YEAR_S = 365 * 24 * 3600;

const dictionaries = { id, en };

/** The `lang` cookie the server's pages set (`?lang=en`, server/i18n.py), or null. */
function cookieLang() {
  if (typeof document === 'undefined') return null;
  const match = /(?:^|;\s*)lang=(id|en)(?:;|$)/.exec(document.cookie);
  return match ? match[1] : null;
}

/**
 * The language the person chose: the same `lang` cookie the office and sign-in pages use, so a choice made
 * on either side holds on the other; a phone that chose before the app shared it keeps its old choice.
 * @returns {'id'|'en'}
 */
export function getLang() {
  const chosen = cookieLang();
  if (chosen === 'en' || chosen === 'id') return chosen;
  try {
    return localStorage.getItem(LEGACY_KEY) === 'en' ? 'en' : 'id';
  } catch {
    return 'id';
  }
}

/** Choose the language: writes the shared `lang` cookie as the server does (Secure over HTTPS, Lax). */
export function setLang(lang) {
  const value = lang === 'en' ? 'en' : 'id';
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${COOKIE}=${value}; Path=/; Max-Age=${ONE_YEAR_S}; SameSite=Lax${secure}`;
  try {
    localStorage.removeItem(LEGACY_KEY);
  } catch { /* storage unavailable: the cookie is the choice */ }
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
