// Shared steps of the passkey pages: turn the server's JSON options into what navigator.credentials wants,
// turn the browser's answer back into JSON, post it, and explain failures in the page's language: the
// server writes the texts into the page from the catalogue (identity/_passkey_texts.html).
import { base64urlDecode, base64urlEncode, passkeysSupported } from '../lib/passkey.js';

export { passkeysSupported };

/**
 * The page's text `key` (a data- attribute of #passkey-texts, camelCase) with its {name} places filled.
 * @param {string} key @param {Record<string, string|number>} [params]
 */
export function t(key, params = {}) {
  const texts = document.getElementById('passkey-texts');
  const text = texts?.dataset[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}

/** Why this browser cannot take part, and what to use instead. */
export function noSupport() {
  return t('noSupport');
}

/** @param {HTMLElement} element @param {string} text @param {boolean} [isError] */
export function say(element, text, isError = false) {
  element.textContent = text;
  element.classList.toggle('error', isError);
}

/** POST JSON to our own origin; resolves to the JSON answer or throws an Error carrying the server's reason. */
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(answer.reason || t('serverStatus', { status: response.status }));
    error.name = 'ServerRefused';
    throw error;
  }
  return answer;
}

/** Registration options (JSON from py_webauthn) -> PublicKeyCredentialCreationOptions. */
export function creationOptions(options) {
  return {
    ...options,
    challenge: base64urlDecode(options.challenge),
    user: { ...options.user, id: base64urlDecode(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: base64urlDecode(c.id) })),
  };
}

/** Authentication options (JSON) -> PublicKeyCredentialRequestOptions. */
export function requestOptions(options) {
  return {
    ...options,
    challenge: base64urlDecode(options.challenge),
    allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: base64urlDecode(c.id) })),
  };
}

/** A PublicKeyCredential -> the JSON the server verifies. */
export function credentialJSON(credential) {
  const r = credential.response;
  const response = { clientDataJSON: base64urlEncode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = base64urlEncode(r.attestationObject);
    if (typeof r.getTransports === 'function') response.transports = r.getTransports();
  } else {
    response.authenticatorData = base64urlEncode(r.authenticatorData);
    response.signature = base64urlEncode(r.signature);
    if (r.userHandle) response.userHandle = base64urlEncode(r.userHandle);
  }
  return {
    id: credential.id, rawId: base64urlEncode(credential.rawId), type: credential.type, response,
    clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
  };
}

/** A person-readable reason for a failed ceremony. */
export function explain(error) {
  switch (error?.name) {
    case 'ServerRefused': return error.message;
    case 'NotAllowedError': return t('cancelled');
    case 'InvalidStateError': return t('alreadyRegistered');
    case 'NotSupportedError': return noSupport();
    case 'SecurityError': return t('originMismatch');
    case 'TypeError': return t('offline');
    default: return t('failed', { reason: error?.message || String(error) });
  }
}
