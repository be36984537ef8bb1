// A stock PouchDB 9 client for integration tests, driven from pytest (tests/support/pouch_client.py).
//
// Reads one JSON command on stdin: {url, token, dir, steps: [...]}, runs the steps in order against a
// LevelDB database in `dir`, and prints one JSON array of step results on stdout. The only thing added to
// PouchDB is the `Authorization: Bearer <device token>` header, exactly as a machine client would send it.
//
// Steps:
//   {op: "put", docs: [...]}                  write docs locally (attachments inline as base64)
//   {op: "push"} / {op: "pull"} / {op: "sync"} one-shot replication; result lists denied docs and errors
//   {op: "push_until_done", seconds}          push again after every failure until one push ends cleanly
//   {op: "pull_until_done", seconds}          the same for pulling
//   {op: "live", seconds, wait_for: [ids]}    live sync with retry until every id is local (or time runs out)
//   {op: "dump"}                              every local doc, with the SHA-256 of each attachment's bytes
//   {op: "purge"}                             ask the gateway which local ids left scope; drop them locally
//   {op: "raw", method, path, body}           one HTTP request to the gateway (for refusal tests)

import crypto from 'node:crypto';
import PouchDB from 'pouchdb';

const input = JSON.parse(await new Promise((resolve) => {
  let text = '';
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
}));

const headers = input.token ? {Authorization: `Bearer ${input.token}`} : {};
const remoteOptions = {headers, skip_setup: false};
let local = new PouchDB(input.dir);
const remote = new PouchDB(input.url, remoteOptions);

function summary(result, denied) {
  return {
    ok: result ? result.ok !== false : false,
    docs_written: result ? result.docs_written : 0,
    doc_write_failures: result ? result.doc_write_failures : 0,
    denied,
    errors: (result && result.errors || []).map((error) => ({id: error.id, name: error.name, reason: error.reason || error.message})),
  };
}

async function replicate(direction, options = {}) {
  const denied = [];
  const run = direction === 'push' ? local.replicate.to(remote, options)
    : direction === 'pull' ? local.replicate.from(remote, options)
    : local.sync(remote, options);
  run.on('denied', (error) => denied.push({id: error.id, name: error.name, reason: error.reason || error.message}));
  // A request cut at the wrong moment can leave PouchDB's promise unsettled: give up on it after a while,
  // as an app would, and let the caller retry.
  // "A while" means no progress at all (no batch read, written or checkpointed) for stall_seconds.
  let timer;
  let fail;
  const stalled = new Promise((resolve, reject) => { fail = reject; });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { run.cancel(); fail(new Error('replication stalled')); }, (input.stall_seconds || 20) * 1000);
  };
  arm();
  run.on('checkpoint', arm);
  run.on('change', arm);
  try {
    const result = await Promise.race([run, stalled]);
    clearTimeout(timer);
    if (direction === 'sync') {
      return {ok: true, push: summary(result.push, denied), pull: summary(result.pull, [])};
    }
    return summary(result, denied);
  } catch (error) {
    clearTimeout(timer);
    return {ok: false, status: error.status, name: error.name, message: String(error.message || error.reason || error), denied};
  }
}

async function untilDone(direction, seconds, batchSize) {
  const deadline = Date.now() + seconds * 1000;
  let attempts = 0;
  let last;
  while (Date.now() < deadline) {
    attempts += 1;
    last = await replicate(direction, batchSize ? {batch_size: batchSize} : {});
    if (last.ok && last.doc_write_failures === last.denied.length) {
      return {...last, attempts};
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return {...last, ok: false, attempts, timed_out: true};
}

async function live(seconds, waitFor) {
  const denied = [];
  const sync = local.sync(remote, {live: true, retry: true, back_off_function: () => 300});
  sync.on('denied', (error) => denied.push({id: error.id, reason: error.reason}));
  const deadline = Date.now() + seconds * 1000;
  let seen = false;
  while (Date.now() < deadline) {
    const found = await Promise.all(waitFor.map((id) => local.get(id).then(() => true, () => false)));
    if (waitFor.length && found.every(Boolean)) {
      seen = true;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  sync.cancel();
  return {seen, denied};
}

async function dump() {
  const all = await local.allDocs({include_docs: true, attachments: true, binary: false});
  const docs = {};
  for (const row of all.rows) {
    const doc = row.doc;
    const attachments = {};
    for (const [name, attachment] of Object.entries(doc._attachments || {})) {
      attachments[name] = crypto.createHash('sha256').update(Buffer.from(attachment.data, 'base64')).digest('hex');
    }
    delete doc._attachments;
    docs[row.id] = {rev: row.value.rev, doc, attachments};
  }
  return {count: all.rows.length, docs};
}

async function raw(step) {
  const response = await fetch(input.url + (step.path || ''), {
    method: step.method || 'GET',
    headers: {...headers, 'Content-Type': step.content_type || 'application/json', Accept: 'application/json'},
    body: step.body === undefined ? undefined : (typeof step.body === 'string' ? step.body : JSON.stringify(step.body)),
  });
  const text = await response.text();
  /** @type {any} */
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return {status: response.status, body};
}

async function purge() {
  // Stock PouchDB 9 on LevelDB/IndexedDB (idb) has no db.purge(): keep what is not named, rebuild the rest.
  const all = await local.allDocs();
  const ids = all.rows.map((row) => row.id);
  const answer = await raw({method: 'POST', path: '/_segel/purge', body: {ids}});
  const names = new Set(answer.body.purge || []);
  if (names.size) {
    const keep = await local.allDocs({include_docs: true, attachments: true});
    const survivors = keep.rows.filter((row) => !names.has(row.id)).map((row) => row.doc);
    await local.destroy();
    local = new PouchDB(input.dir);
    if (survivors.length) {
      await local.bulkDocs(survivors, {new_edits: false});
    }
  }
  return {status: answer.status, purge: [...names]};
}

const keepAlive = setInterval(() => {}, 1000);
const results = [];
for (const step of input.steps) {
  switch (step.op) {
    case 'put':
      results.push(await local.bulkDocs(step.docs));
      break;
    case 'push':
    case 'pull':
    case 'sync':
      results.push(await replicate(step.op, step.batch_size ? {batch_size: step.batch_size} : {}));
      break;
    case 'push_until_done':
    case 'pull_until_done':
      results.push(await untilDone(step.op.split('_')[0], step.seconds || 60, step.batch_size));
      break;
    case 'live':
      results.push(await live(step.seconds || 10, step.wait_for || []));
      break;
    case 'dump':
      results.push(await dump());
      break;
    case 'purge':
      results.push(await purge());
      break;
    case 'raw':
      results.push(await raw(step));
      break;
    default:
      throw new Error(`unknown step ${step.op}`);
  }
}
clearInterval(keepAlive);
process.stdout.write(JSON.stringify(results));
