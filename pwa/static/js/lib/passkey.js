// Passkeys in the browser: base64url helpers, and signing a record hash with the courier's passkey.
//
// Signing works offline: the record's own SHA-256 is the WebAuthn challenge, so no server round trip is
// needed. The server checks the assertion later (sync/signatures.py) against the record it receives.

/** @typedef {{credential_id: string, authenticator_data: string, client_data_json: string,
 *   signature: string, user_handle?: string}} RecordSignature */

/** @param {ArrayBuffer|Uint8Array} bytes @returns {string} base64url without padding */
export function base64urlEncode(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {string} text base64url (padding optional) @returns {Uint8Array<ArrayBuffer>} */
export function base64urlDecode(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** True when this browser can use passkeys at all (secure context and WebAuthn present). */
export function passkeysSupported() {
  return Boolean(globalThis.isSecureContext && globalThis.PublicKeyCredential && navigator.credentials);
}

/** The RP ID: given, or from `<meta name="segel-rp-id">`, else the browser's default (this host). */
export function rpIdFor(options = {}) {
  return options.rpId || /** @type {HTMLMetaElement|null} */ (
    globalThis.document?.querySelector('meta[name="segel-rp-id"]'))?.content || undefined;
}

/** @param {string} hashHex 64 hex digits @returns {Uint8Array<ArrayBuffer>} the 32 bytes */
export function hexToBytes(hashHex) {
  if (!/^[0-9a-f]{64}$/.test(hashHex)) throw new TypeError('record hash must be 64 lowercase hex digits');
  return Uint8Array.from(hashHex.match(/../g), (pair) => parseInt(pair, 16));
}

/**
 * Ask the passkey to sign a record hash (works offline). Throws the browser's DOMException
 * (NotAllowedError when cancelled, NotSupportedError without passkeys) so callers can keep the record
 * unsigned with a reason instead of blocking the handoff.
 * @param {string} hashHex the record hash (recordHash in canonical.js)
 * @param {string[]} allowCredentialIds base64url ids of this user's passkeys (from /auth/me); may be empty
 * @param {{rpId?: string}} [options] the RP ID when it is a parent domain of this page's host
 * @returns {Promise<RecordSignature>}
 */
export async function signRecordHash(hashHex, allowCredentialIds = [], options = {}) {
  if (!passkeysSupported()) {
    const error = new Error('Passkeys are not supported in this browser.');
    error.name = 'NotSupportedError';
    throw error;
  }
  const assertion = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({
    publicKey: {
      challenge: hexToBytes(hashHex),
      ...(rpIdFor(options) ? { rpId: rpIdFor(options) } : {}),
      userVerification: 'required',
      timeout: 120000,
      allowCredentials: allowCredentialIds.map((id) => ({ type: 'public-key', id: base64urlDecode(id) })),
    },
  }));
  const response = /** @type {AuthenticatorAssertionResponse} */ (assertion.response);
  const signature = {
    credential_id: base64urlEncode(assertion.rawId),
    authenticator_data: base64urlEncode(response.authenticatorData),
    client_data_json: base64urlEncode(response.clientDataJSON),
    signature: base64urlEncode(response.signature),
  };
  if (response.userHandle && response.userHandle.byteLength) {
    signature.user_handle = base64urlEncode(response.userHandle);
  }
  return signature;
}
