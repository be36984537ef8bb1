// Records that left the user's scope (delivered and closed, reassigned, user revoked) must leave the phone.
// The gateway says so in the pulled changes (see docs/sync.md); a record is purged only once nothing of it
// is waiting to be sent, so nothing the user entered is ever dropped.
import { databases, readState, updateState } from './db.js';

/** Which pulled docs tell us to forget records: tombstones and scope notices from the gateway. */
function idsToPurge(docs) {
  const ids = [];
  for (const doc of docs) {
    if (doc._deleted) ids.push(doc._id);
    if (doc.type === 'scope' && Array.isArray(doc.removed)) ids.push(...doc.removed);
  }
  return ids;
}

export async function purgeRecords(pulledDocs) {
  const ids = idsToPurge(pulledDocs);
  if (!ids.length) return [];
  return purgeIds(ids);
}

/** Removes records from the device unless they still wait to be sent or were refused (then they stay). */
export async function purgeIds(ids) {
  const state = await readState();
  const keep = new Set([...state.outbox, ...state.photoOutbox, ...Object.keys(state.denials)]);
  const { records } = databases();
  const purged = [];
  for (const id of ids) {
    if (keep.has(id)) continue;
    try {
      const doc = await records.get(id);
      await records.remove(doc); // tombstone only; auto_compaction drops the body
      purged.push(id);
    } catch (error) {
      if (error.status !== 404) throw error;
    }
  }
  if (purged.length) {
    await records.compact();
    await updateState((s) => ({ ...s, purged: [...s.purged, ...purged].slice(-500) }));
  }
  return purged;
}
