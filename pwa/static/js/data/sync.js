// Live sync with the gateway (stock PouchDB replication over the CouchDB protocol, cookie auth, same origin).
//
// Records sync first and continuously; photos are pushed from their own database in small batches once the
// records have caught up, so a slow link never holds a handoff back behind its pictures and a dropped
// connection costs one small batch, not the whole upload. A 401/403 on a whole request ends PouchDB's
// replication for good: we stop, show "sign in again", and start afresh after the next sign-in.
//
// Office staff and admins never replicate: the gateway would give them the whole office (every resident's
// data), and their work is on the office pages. Their role comes from /auth/me before anything local is
// opened, so their browser gets no local records database at all (see `officeCheck`).
import {
  databases, destroyDatabases, isNotPhoto, isPhoto, localDatabasesExist, readState, remoteDatabase,
  remoteForSplitPull, updateState, warmRemote,
} from './db.js';
import { dropSent, startOutbox, stopOutbox, withOutbox } from './outbox.js';
import { checkScope } from './purge.js';

export const OFFICE_ROLES = new Set(['staff', 'admin']);

const listeners = new Set();
// `reachable`: whether the last request to the server got any answer. A phone can be "online" (Wi-Fi without
// internet, a cell with no data) while no request gets through; the sync bar then says so.
// `officeUser`: /auth/me named a staff member or admin; the app sends them to /office and syncs nothing.
const runtime = {
  dataVersion: 0, online: navigator.onLine, reachable: true, signedIn: null, needsLogin: false, syncing: false, error: null,
  officeUser: false,
};
let recordsSync = null;
let photosPush = null;
let photosPull = null;
let starting = null;
let firstPullDone;
const firstPull = new Promise((resolve) => { firstPullDone = resolve; });

/**
 * Resolves when the first records pull of this page has caught up or stopped, or sync did not start (offline,
 * signed out, office user): start-up extras (schema preload, scanner download) wait for it, so on a slow link
 * they do not share the line with a new phone's first documents.
 */
export function afterFirstPull() {
  return firstPull;
}

export function onStatus(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export async function syncStatus() {
  const state = await readState();
  return {
    ...runtime, me: state.me, lastSync: state.lastSync,
    pendingRecords: state.outbox.length, pendingPhotos: state.photoOutbox.length,
    denials: Object.entries(state.denials).map(([id, denial]) => ({ id, ...denial })),
  };
}

export async function notify() {
  const status = await syncStatus();
  for (const listener of listeners) listener(status);
}

/**
 * Who /auth/me says is signed in, touching no local database: `{me}` when signed in, `{me: null}` when not,
 * `{unreachable: true}` when no answer came (offline, or a server error).
 */
async function askMe() {
  try {
    const response = await fetch('/auth/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    runtime.reachable = response.status < 500;
    if (response.status === 401 || response.status === 403 || response.status === 404) return { me: null };
    if (!response.ok) return { unreachable: true };
    return { me: await response.json() };
  } catch {
    runtime.reachable = false;
    return { unreachable: true };
  }
}

/**
 * Before the app opens anything local: is a staff member or admin signed in? Then their browser keeps no
 * replica: a leftover one (from before this check existed) is deleted unless something in it still waits to
 * be sent, and the answer is true. Offline (no answer) it is false: the app opens with the remembered user,
 * and `startSync` asks again once the server answers.
 */
// The answer officeCheck got at boot, used once by the first startSync (a round trip less before sync).
let bootAnswer = null;

export async function officeCheck() {
  const answer = await askMe();
  if (!answer.unreachable) bootAnswer = answer; // the first startSync needs no second /auth/me
  if (!answer.me || !OFFICE_ROLES.has(answer.me.role)) {
    // A phone user: the replication's first two requests go now, both at once (see `warmRemote`). Never
    // for staff, whose browser sends nothing to /sync at all.
    if (answer.me) warmRemote();
    return false;
  }
  runtime.officeUser = true;
  if (await localDatabasesExist()) {
    const state = await readState();
    const waiting = state.outbox.length + state.photoOutbox.length + Object.keys(state.denials).length;
    if (!waiting) await destroyDatabases();
  }
  return true;
}

/** Asks the server who is signed in; remembers the answer so the app knows its user offline. */
export async function refreshMe() {
  return applyMe(await askMe());
}

async function applyMe(answer) {
  if (answer.unreachable) {
    notify();
    return null; // offline or unreachable: keep the remembered user
  }
  if (!answer.me) {
    runtime.signedIn = false;
    return null;
  }
  runtime.signedIn = true;
  runtime.needsLogin = false;
  if (OFFICE_ROLES.has(answer.me.role)) { // never remembered, never synced: the app sends them to /office
    runtime.officeUser = true;
    return null;
  }
  await updateState((s) => ({ ...s, me: answer.me }));
  return answer.me;
}

/** Starts (or restarts after a new sign-in) live sync, if the user is signed in. */
export function startSync() {
  if (recordsSync || starting) return starting || Promise.resolve();
  starting = (async () => {
    const answer = bootAnswer || await askMe();
    bootAnswer = null;
    const me = await applyMe(answer);
    if (!me) firstPullDone();
    if (!me || recordsSync) return;
    const { records } = databases();
    runtime.syncing = true;
    // Pull and push as one sync (one 'paused' when both have caught up); the pull leaves seal photos to
    // startPhotos, so a new phone shows its documents before a single image has come down.
    recordsSync = records.sync(remoteForSplitPull(), {
      live: true, retry: true, batch_size: 50,
      pull: { filter: isNotPhoto },
      push: { filter: (doc) => !doc._deleted && !doc._id.startsWith('_design/') },
      back_off_function: (delay) => (delay === 0 ? 1000 : Math.min(delay * 2, 60000)),
    });
    recordsSync
      .on('change', (info) => handleChange(info))
      .on('paused', (error) => handlePaused(error))
      .on('active', () => { runtime.error = null; notify(); })
      .on('denied', (event) => recordDenial(event.doc || event, 'record'))
      .on('error', (error) => handleFatal(error));
    // The sync's own 'paused' fires as soon as the push side has nothing to send, before a record is down:
    // the photo pull waits for the records pull itself to catch up, so it never shares the link with it.
    recordsSync.pull.on('paused', (error) => {
      firstPullDone();
      if (!error) startPhotos();
    });
    // Van visits (full NIK) go from their own push-only outbox, dropped once sent back masked (outbox.js).
    startOutbox({
      remote: remoteDatabase(), onSent: (docs) => confirmSent(docs, 'outbox'),
      onDenied: (event) => recordDenial(event.doc || event, 'record'), onError: (error) => handleFatal(error),
    });
  })().finally(() => { starting = null; notify(); });
  return starting;
}

export function stopSync() {
  recordsSync?.cancel();
  photosPush?.cancel();
  stopOutbox();
  photosPull?.cancel();
  recordsSync = null;
  photosPush = null;
  photosPull = null;
  runtime.syncing = false;
}

/**
 * Once the records have caught up: push the photos taken here, and pull the seal photos of this courier's
 * documents (into `segel-records`, where `photoBlob` finds them) a few at a time, so each image is
 * kept as soon as it is down and a dropped link costs one picture, never the list.
 */
function startPhotos() {
  if (!photosPull) {
    photosPull = databases().records.replicate.from(remoteForSplitPull(), {
      // 10 change rows a request (about 2 photos among a document's records), one batch at a time.
      live: true, retry: true, batch_size: 10, batches_limit: 1, filter: isPhoto,
      back_off_function: (delay) => (delay === 0 ? 2000 : Math.min(delay * 2, 60000)),
    });
    photosPull.on('error', (error) => handleFatal(error));
  }
  if (photosPush) return;
  const { photos } = databases();
  photosPush = photos.replicate.to(remoteDatabase(), {
    live: true, retry: true, batch_size: 2, batches_limit: 1,
    filter: (doc) => !doc._deleted,
    back_off_function: (delay) => (delay === 0 ? 2000 : Math.min(delay * 2, 60000)),
  });
  photosPush
    .on('change', async (info) => {
      await confirmSent(info.docs, 'photoOutbox');
      await dropSentPhotos(info.docs);
    })
    .on('denied', (error) => recordDenial(error, 'photo'))
    .on('error', (error) => handleFatal(error));
}

async function handleChange(info) {
  if (info.direction === 'push') await confirmSent(info.change.docs, 'outbox');
  if (info.direction === 'pull') {
    runtime.dataVersion += 1;
    dropSent(); // a visit's masked copy is back: its full-NIK copy can go
  }
  notify();
}

async function confirmSent(docs, box) {
  const ids = new Set(docs.map((doc) => doc._id));
  await updateState((s) => {
    s[box] = s[box].filter((id) => !ids.has(id));
    for (const id of ids) delete s.denials[id];
    s.lastSync = new Date().toISOString();
    return s;
  });
  notify();
}

/**
 * A photo the server has confirmed comes back with the pulled records (the courier's own proofs), so the copy
 * in the outgoing photos database is dropped: one copy of each image on the phone, not two.
 */
async function dropSentPhotos(docs) {
  const { photos } = databases();
  const sent = docs.filter((doc) => !doc._deleted).map((doc) => ({ _id: doc._id, _rev: doc._rev, _deleted: true }));
  if (!sent.length) return;
  await photos.bulkDocs(sent);
  await photos.compact();
}

async function handlePaused(error) {
  if (error) {
    runtime.error = String(error.message || error.name || error);
    runtime.reachable = false;
  } else {
    runtime.error = null;
    runtime.reachable = true;
    await updateState((s) => ({ ...s, lastSync: new Date().toISOString() }));
    const purged = await checkScope();
    if (purged.length) runtime.dataVersion += 1;
  }
  notify();
}

async function recordDenial(error, kind) {
  const id = error.id || error.docId;
  if (!id) return;
  const reason = error.reason || error.message || 'ditolak server';
  await updateState((s) => {
    s.denials[id] = { reason, at: new Date().toISOString(), kind };
    s.outbox = s.outbox.filter((x) => x !== id);
    s.photoOutbox = s.photoOutbox.filter((x) => x !== id);
    return s;
  });
  notify();
}

function handleFatal(error) {
  firstPullDone();
  stopSync();
  if (error?.status === 401 || error?.status === 403) {
    runtime.needsLogin = true;
    runtime.signedIn = false;
  }
  runtime.error = String(error?.reason || error?.message || error);
  notify();
}

/**
 * Pushes refused records once more (after staff fixed what the server refused, e.g. reassigned the
 * document): the replicator does not resend a record it has moved past.
 */
export async function retryDenied() {
  const state = await readState();
  const ids = Object.keys(state.denials);
  if (!ids.length) return;
  const { records, photos } = databases();
  const remote = remoteDatabase();
  await updateState((s) => {
    for (const id of ids) {
      if (s.denials[id].kind === 'photo') s.photoOutbox.push(id);
      else s.outbox.push(id);
      delete s.denials[id];
    }
    return s;
  });
  const again = (db, kind) => {
    const replication = db.replicate.to(remote, { doc_ids: ids });
    replication.on('denied', (error) => recordDenial(error, kind));
    replication.on('change', (info) => confirmSent(info.docs, kind === 'photo' ? 'photoOutbox' : 'outbox'));
    return replication.catch(() => undefined);
  };
  for (const [db, kind] of [[records, 'record'], [photos, 'photo']]) await again(db, kind);
  await withOutbox((outbox) => again(outbox, 'record')); // refused visits wait in the outbox
  notify();
}

export function watchConnectivity() {
  const update = () => {
    runtime.online = navigator.onLine;
    if (runtime.online) setTimeout(startSync, 500);
    notify();
  };
  // The first request after the radio comes back often fails; keep trying while online and not syncing.
  setInterval(() => {
    if (navigator.onLine && !recordsSync && runtime.signedIn !== false && !runtime.officeUser) startSync();
  }, 5000);
  addEventListener('online', update);
  addEventListener('offline', update);
  // Coming back from the sign-in page (or the phone waking up) is when a stopped sync should restart.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !recordsSync && !runtime.officeUser) startSync();
  });
}
