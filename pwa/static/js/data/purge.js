// Records that left the user's scope (delivered and closed, reassigned, user revoked) must leave the phone.
// The gateway answers POST /sync/records/_segel/purge {ids} with the ids the device should forget
// (docs/sync.md). A record is purged only once nothing of it is waiting to be sent or was refused, so
// nothing the user entered is ever dropped.
import { databases, readState, updateState } from './db.js';

const PURGE_BATCH = 2000;
const CHECK_EVERY_MS = 30000;
let lastCheck = 0;
let checking = null;

/** Asks the gateway which of the records on this phone left the user's scope, and purges those. */
export function checkScope({ force = false } = {}) {
  if (checking || (!force && Date.now() - lastCheck < CHECK_EVERY_MS)) return checking || Promise.resolve([]);
  lastCheck = Date.now();
  checking = (async () => {
    const state = await readState();
    const waiting = new Set([...state.outbox, ...state.photoOutbox, ...Object.keys(state.denials)]);
    const { records } = databases();
    const all = await records.allDocs();
    const ids = all.rows.map((row) => row.id).filter((id) => !id.startsWith('_') && !waiting.has(id));
    const purged = [];
    for (let start = 0; start < ids.length; start += PURGE_BATCH) {
      const response = await fetch(`${location.origin}/sync/records/_segel/purge`, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ ids: ids.slice(start, start + PURGE_BATCH) }),
      });
      if (!response.ok) return purged;
      const answer = await response.json();
      purged.push(...await purgeIds(answer.purge || []));
    }
    return purged;
  })().catch(() => []).finally(() => { checking = null; });
  return checking;
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
