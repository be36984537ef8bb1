// Sealing the receipt code at the door: the phone encrypts what the resident said to the server's public key
// and keeps only the result, so no code is ever readable on the phone (see records/receipt_proof.py for the
// scheme and docs/security.md for why). ECDH P-256 with a fresh key per delivery, HKDF-SHA256, AES-256-GCM
// with the document id as associated data. Works offline: the key comes with the signed-in user (`me`).

const INFO = new TextEncoder().encode('segel receipt code v1');

function b64url(bytes) {
  let text = '';
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * @param {string} code what the resident gave, as typed
 * @param {string} documentId the document being delivered (bound into the proof)
 * @param {{kty: string, crv: string, x: string, y: string, kid: string, alg: string}} serverKey
 * @returns {Promise<{alg: string, kid: string, epk: string, iv: string, ct: string}>}
 */
export async function sealReceiptCode(code, documentId, serverKey) {
  const subtle = globalThis.crypto.subtle;
  const server = await subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: serverKey.x, y: serverKey.y, ext: true },
    { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const ephemeral = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  const shared = await subtle.deriveBits({ name: 'ECDH', public: server }, ephemeral.privateKey, 256);
  const hkdf = await subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const aes = await subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: INFO },
    hkdf, { name: 'AES-GCM', length: 256 }, false, ['encrypt']);
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(documentId) },
    aes, new TextEncoder().encode(code));
  const epk = await subtle.exportKey('raw', ephemeral.publicKey);
  return { alg: 'ECDH-ES+A256GCM', kid: serverKey.kid, epk: b64url(epk), iv: b64url(iv), ct: b64url(ct) };
}
