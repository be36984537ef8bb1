// The van's outbox: visits hold the resident's full NIK, typed by the crew, and the phone must not keep it
// once the server has the visit (least data on the phone). So visits are written here, into a push-only
// database (`segel-outbox`, replicated with `replicate.to`, never pulled into), not into `segel-records`.
// The gateway sends the van its visits back with the NIK masked (sync/projection.py); once every visit in
// the outbox has reached the server and its masked copy has arrived with the pulled records, the outbox is
// destroyed (IndexedDB drops it) and created afresh. A visit still waiting, or refused (kept with the
// server's reason), keeps it: only visits the server confirmed and sent back are ever dropped.
import PouchDB from 'pouchdb-browser';
import { databases, readState } from './db.js';

const NAME = 'segel-outbox';
let db = null;
let queue = Promise.resolve();
let push = null;
let pushOptions = null;

function open() {
  if (!db) db = new PouchDB(NAME, { auto_compaction: true });
  return db;
}

/** Runs `work(db)` after every earlier outbox step, so a visit is never written while the outbox is dropped. */
export function withOutbox(work) {
  const run = queue.then(() => work(open()));
  queue = run.catch(() => undefined);
  return run;
}

/** The visits (or other records) in the outbox whose id starts with `prefix`. */
export function outboxDocs(prefix) {
  return withOutbox(async (outbox) => {
    const result = await outbox.allDocs({ startkey: prefix, endkey: `${prefix}\ufff0`, include_docs: true });
    return result.rows.map((row) => row.doc).filter((doc) => doc && !doc._deleted);
  });
}

/**
 * Starts the live push of the outbox to `remote`; `onSent(docs)` and `onDenied(event)` are sync.js's bookkeeping of
 * what waits and what was refused, `onError(error)` its handling of a fatal error (signed out).
 */
export function startOutbox(options) {
  pushOptions = options;
  return withOutbox(() => { if (!push) startPush(); }).then(() => dropSent()); // left over from last time
}

export function stopOutbox() {
  push?.cancel();
  push = null;
  pushOptions = null;
}

function startPush() {
  if (!pushOptions) return;
  const { remote, onSent, onDenied, onError } = pushOptions;
  const replication = open().replicate.to(remote, {
    live: true, retry: true, batch_size: 50,
    filter: (doc) => !doc._deleted,
    back_off_function: (delay) => (delay === 0 ? 1000 : Math.min(delay * 2, 60000)),
  });
  const current = () => replication === push;
  replication
    .on('change', async (info) => { if (current()) { await onSent(info.docs); dropSent(); } })
    .on('denied', (event) => { if (current()) onDenied(event); })
    .on('error', (error) => { if (current()) onError(error); });
  push = replication;
}

/**
 * Drops the visits the server has and sent back masked: the whole outbox when nothing else is in it (so no
 * deleted body lingers in IndexedDB), else just those (removed and compacted). Returns how many were dropped.
 */
export function dropSent() {
  return withOutbox((outbox) => dropFrom(outbox)).catch((error) => {
    console.warn('segel: outbox not dropped yet, tried again after the next sync', error);
    return 0;
  });
}

async function dropFrom(outbox) {
  const rows = (await outbox.allDocs()).rows;
  if (!rows.length) return 0;
  const state = await readState();
  const keep = new Set([...state.outbox, ...Object.keys(state.denials)]);
  const back = await databases().records.allDocs({ keys: rows.map((row) => row.id) });
  const arrived = new Set(back.rows.filter((row) => row.value && !row.value.deleted).map((row) => row.id));
  const sent = rows.filter((row) => !keep.has(row.id) && arrived.has(row.id));
  if (!sent.length) return 0;
  const removeSent = async () => {
    await outbox.bulkDocs(sent.map((row) => ({ _id: row.id, _rev: row.value.rev, _deleted: true })));
    await outbox.compact(); // the bodies (full NIK) go; only bodiless tombstones stay
    return sent.length;
  };
  if (sent.length < rows.length) return removeSent();
  const running = push;
  push = null;
  if (running) {
    running.cancel();
    const stopped = await Promise.race([running.then(() => true, () => true),
      new Promise((resolve) => { setTimeout(() => resolve(false), 3000); })]);
    if (!stopped) { // never destroy a database a replication still writes to: remove the visits instead
      startPush();
      return removeSent();
    }
  }
  await outbox.destroy();
  db = null;
  open();
  if (running) startPush();
  return sent.length;
}
