// Shared steps of the passkey pages: turn the server's JSON options into what navigator.credentials wants,
// turn the browser's answer back into JSON, post it, and explain failures in Bahasa Indonesia first.
import { base64urlDecode, base64urlEncode, passkeysSupported } from '../lib/passkey.js';

export { passkeysSupported };

export const NO_SUPPORT =
  'Browser ini tidak mendukung passkey. Buka tautan ini di Chrome terbaru di Android (atau Safari di iPhone), '
  + 'dan pastikan kunci layar ponsel aktif. (This browser does not support passkeys: use an up-to-date browser '
  + 'and turn on the screen lock.)';

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
    const error = new Error(answer.reason || `Server menjawab ${response.status}.`);
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
    case 'NotAllowedError':
      return 'Passkey dibatalkan atau waktu habis. Coba lagi. (Cancelled or timed out: try again.)';
    case 'InvalidStateError':
      return 'Passkey ini sudah terdaftar di ponsel ini. Silakan masuk saja. (Already registered: sign in.)';
    case 'NotSupportedError': return NO_SUPPORT;
    case 'SecurityError':
      return 'Alamat situs tidak cocok dengan pengaturan passkey; hubungi kantor. (Origin/RP ID mismatch.)';
    case 'TypeError':
      return 'Tidak ada koneksi ke server. Coba lagi saat ada sinyal. (No connection: try again online.)';
    default: return `Gagal: ${error?.message || error}`;
  }
}
