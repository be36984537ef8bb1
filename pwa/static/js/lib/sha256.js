// SHA-256 with WebCrypto, as lowercase hex (the form records carry).

/** @param {Blob|ArrayBuffer|Uint8Array|string} data */
export async function sha256Hex(data) {
  let bytes = /** @type {BufferSource} */ (data);
  if (typeof data === 'string') bytes = new TextEncoder().encode(data);
  else if (typeof Blob !== 'undefined' && data instanceof Blob) bytes = await data.arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
