// The custody hash of a record, exactly as the server computes it (records/custody.py): SHA-256, lowercase hex,
// of the RFC 8785 canonical JSON of the record without the keys CouchDB or the signer add afterwards.
// RFC 8785 writes numbers the way JSON.stringify does and sorts keys by UTF-16 code units, so the bytes are
// identical on every phone and on the server (tests/unit/test_custody_js.py runs this file under node).
import canonicalize from 'canonicalize';

/** Top-level keys the hash does not cover. */
export const UNHASHED_KEYS = Object.freeze(
  ['_rev', '_revisions', '_attachments', '_conflicts', '_deleted', 'signature'],
);

/** @param {Record<string, unknown>} record @returns {string} canonical JSON of the covered fields */
export function canonicalJson(record) {
  const covered = Object.fromEntries(Object.entries(record).filter(([key]) => !UNHASHED_KEYS.includes(key)));
  return canonicalize(covered);
}

/** @param {Record<string, unknown>} record @returns {Promise<string>} lowercase hex SHA-256 */
export async function recordHash(record) {
  const bytes = new TextEncoder().encode(canonicalJson(record));
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
