// The local databases. Only js/data/ touches PouchDB; screens use the functions exported by data/index.js.
//
// Two databases, so photos never hold back the small records: `segel-records` (documents, seals, handoffs,
// stops, visits — pulled and pushed) and `segel-photos` (photo-proof records with their image attachment —
// pushed only, in small batches, after the records). The van's own visits, which hold the full NIK, wait in
// a third, `segel-outbox` (data/outbox.js), dropped once the server has them. auto_compaction keeps only leaf
// revisions, so a record purged from the device leaves no old revision body behind in IndexedDB.
import PouchDB from 'pouchdb-browser';

/** @type {{records: PouchDB.Database, photos: PouchDB.Database} | null} */
let opened = null;

export function databases() {
  if (!opened) {
    opened = {
      records: new PouchDB('segel-records', { auto_compaction: true }),
      photos: new PouchDB('segel-photos', { auto_compaction: true }),
    };
  }
  return opened;
}

const LOCAL_NAMES = ['segel-records', 'segel-photos'];

/**
 * Whether this browser already holds Segel's local databases, found without opening (and so creating) them.
 * A browser that cannot list its IndexedDB databases is assumed to hold them.
 */
export async function localDatabasesExist() {
  if (opened) return true;
  if (!globalThis.indexedDB?.databases) return true;
  const names = new Set((await indexedDB.databases()).map((db) => db.name));
  return LOCAL_NAMES.some((name) => names.has(`${PouchDB.prefix}${name}`));
}

/** Deletes both local databases from the browser (an office browser's leftover replica). */
export async function destroyDatabases() {
  const { records, photos } = databases();
  opened = null;
  await records.destroy();
  await photos.destroy();
}

export function remoteDatabase() {
  return new PouchDB(`${location.origin}/sync/records`, { skip_setup: true, fetch: gatewayFetch });
}

// Two answers every replication waits for before its first `_changes`, one after the other, that depend on
// neither the user's data nor the replication: the gateway's root (its uuid names the checkpoints; asked once
// per replication, three at start) and the database info (fixed counts, for PouchDB's progress figures).
// `warmRemote` asks both at once as soon as /auth/me names a phone user, while the app opens its local
// databases; a replication then starts with its `_changes`, a round trip or two sooner on a slow link. Only
// an ok answer is kept: the root for the page's lifetime, the info for one use; anything else goes to the
// network as before.
const ROOT = () => `${location.origin}/sync/`;
const INFO = () => `${location.origin}/sync/records/`;
const warm = new Map();

/** Starts fetching the gateway's root and database info (see above). */
export function warmRemote() {
  for (const url of [ROOT(), INFO()]) {
    if (warm.has(url)) continue;
    warm.set(url, PouchDB.fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(async (response) => (response.ok ? response.text() : null))
      .catch(() => null));
  }
}

async function gatewayFetch(url, opts = {}) {
  const early = (!opts.method || opts.method === 'GET') ? warm.get(String(url)) : undefined;
  if (early) {
    if (String(url) !== ROOT()) warm.delete(String(url));
    const body = await early;
    if (body !== null) return new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
    warm.delete(String(url));
  }
  return PouchDB.fetch(url, { ...opts, credentials: 'same-origin' });
}

/** Which pulled records belong to the photo pull (seal photos, with their image) and not the records pull. */
export const isPhoto = (doc) => doc._id.startsWith('photo:');
export const isNotPhoto = (doc) => !isPhoto(doc);

/**
 * The gateway for a pull split by record id (`filter: isPhoto` / `isNotPhoto`). PouchDB runs a function
 * filter on the phone but asks `_changes?include_docs=true` for it, which the gateway refuses (and which
 * would bring every body twice); a change row already names its id, so the request goes without
 * `include_docs` and each row gets a stub `{_id, _rev, _deleted}` for the filter. The replicator reads
 * the bodies through `_bulk_get` as always, and each filter gives its pull its own checkpoint.
 */
export function remoteForSplitPull() {
  return new PouchDB(`${location.origin}/sync/records`, {
    skip_setup: true,
    fetch: async (url, opts = {}) => {
      const changes = String(url).includes('/_changes?');
      const response = await gatewayFetch(changes ? String(url).replace(/([?&])include_docs=true&?/, '$1') : url, opts);
      if (!changes || !response.ok) return response;
      const body = await response.json();
      for (const row of body.results || []) {
        row.doc = { _id: row.id, _rev: row.changes?.[0]?.rev, ...(row.deleted ? { _deleted: true } : {}) };
      }
      return new Response(JSON.stringify(body), { status: response.status, headers: { 'Content-Type': 'application/json' } });
    },
  });
}

const STATE_ID = '_local/segel-state';
let queue = Promise.resolve();

/**
 * Device state kept next to the records (never replicated: `_local`):
 * @typedef {{me: object|null, lastSync: string|null, outbox: string[], photoOutbox: string[],
 *   denials: Object<string, {reason: string, at: string, kind: string}>, seq: Object<string, number>,
 *   purged: string[], _rev?: string}} DeviceState
 * @returns {Promise<DeviceState>}
 */
export async function readState() {
  const { records } = databases();
  try {
    const doc = await records.get(STATE_ID);
    return { ...emptyState(), ...doc };
  } catch (error) {
    if (error.status === 404) return emptyState();
    throw error;
  }
}

/** Applies `change(state)` atomically (updates are queued, so concurrent events never lose one). */
export function updateState(change) {
  const run = queue.then(async () => {
    const { records } = databases();
    const state = await readState();
    const next = change(structuredClone(state)) || state;
    const saved = await records.put({ ...next, _id: STATE_ID, _rev: state._rev });
    return { ...next, _rev: saved.rev };
  });
  queue = run.catch(() => undefined);
  return run;
}

function emptyState() {
  return { me: null, lastSync: null, outbox: [], photoOutbox: [], denials: {}, seq: {}, purged: [] };
}
