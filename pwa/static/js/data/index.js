// The data layer's public face: the only way screens reach local data, sync and storage.
import { sha256Hex } from '../lib/sha256.js';
import { databases, readState, updateState } from './db.js';
import { outboxDocs } from './outbox.js';
import { purgeIds } from './purge.js';
import { requestPersistence, storageEstimate } from './storage.js';
import {
  RecordInvalid, getDocument, getStop, listDocuments, listStops, photoBlob, saveHandoff, saveVisit,
} from './records.js';
import {
  afterFirstPull, notify, officeCheck, onStatus, refreshMe, retryDenied, startSync, stopSync, syncStatus,
  watchConnectivity,
} from './sync.js';

export {
  RecordInvalid, afterFirstPull, getDocument, getStop, listDocuments, listStops, notify, officeCheck, onStatus, photoBlob, purgeIds,
  refreshMe, requestPersistence, retryDenied, saveHandoff, saveVisit, startSync, stopSync, storageEstimate,
  syncStatus,
};

/** The user this phone works for: the signed-in one, or the one remembered from the last sign-in. */
export async function currentUser() {
  return (await readState()).me;
}

/**
 * Writes records into the local database as a pull would (the browser tests and the screenshot script use it
 * to give a fresh profile data without a server), and remembers `me` as the signed-in user would be.
 */
export async function loadPulled(docs, me) {
  const { records } = databases();
  await records.bulkDocs(docs);
  if (me) await updateState((s) => ({ ...s, me }));
  notify();
}

/**
 * The records on this phone whose id starts with `prefix` (photos with `_digest_sha256`, the SHA-256 of the
 * stored image bytes, in place of the attachment), for checking what the device holds. A visit still in the
 * van's outbox (outbox.js) is given as it waits there, over its masked copy back from the server.
 */
export async function localDocs(prefix) {
  const { records, photos } = databases();
  const found = new Map();
  for (const db of prefix.startsWith('photo:') ? [records, photos] : [records]) {
    const result = await db.allDocs({ startkey: prefix, endkey: `${prefix}\ufff0`, include_docs: true });
    for (const row of result.rows) {
      if (!row.doc || row.doc._deleted) continue;
      if (!row.doc.type || row.doc.type !== 'photo') {
        found.set(row.id, row.doc);
        continue;
      }
      const { _attachments, ...doc } = row.doc;
      found.set(row.id, { ...doc, _digest_sha256: await sha256Hex(await db.getAttachment(doc._id, doc.attachment)) });
    }
  }
  for (const doc of await outboxDocs(prefix)) found.set(doc._id, doc);
  return [...found.values()];
}

export function startData() {
  watchConnectivity();
  requestPersistence().then(() => notify());
  return startSync();
}
