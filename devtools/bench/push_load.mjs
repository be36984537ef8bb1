// Many phones pushing at once, for `devtools/bench/scale_push.py` (push under load): one node process holds
// the stock PouchDB 9 databases of several phones, each pushing to the gateway with its own device token.
//
// Reads one JSON line on stdin: {url, batch_size, seconds, phones: [{token, dir, docs}]}; writes every
// phone's docs into its own LevelDB database, prints "ready", waits for a line "go" on stdin (so every
// process starts at once), then pushes all phones concurrently, each again after a failure (as the PWA's
// retrying replication does) until one push ends cleanly or `seconds` pass. Prints one JSON line: per phone
// {ok, attempts, docs_written, denied}, and the milliseconds of every `_bulk_docs` request with its status.

import readline from 'node:readline';
import PouchDB from 'pouchdb';

const lines = readline.createInterface({input: process.stdin});
const iterator = lines[Symbol.asyncIterator]();
const input = JSON.parse((await iterator.next()).value);

/** @type {{ms: number, status: number}[]} */
const batches = [];

function remoteFor(token) {
  return new PouchDB(input.url, {
    skip_setup: true,
    fetch: async (url, options) => {
      const headers = new Headers(options.headers);
      headers.set('Authorization', `Bearer ${token}`);
      const timed = String(url).includes('/_bulk_docs');
      const started = performance.now();
      const response = await PouchDB.fetch(url, {...options, headers});
      if (timed) {
        batches.push({ms: performance.now() - started, status: response.status});
      }
      return response;
    },
  });
}

async function pushUntilDone(local, remote) {
  const deadline = Date.now() + input.seconds * 1000;
  let attempts = 0;
  let last = {ok: false, docs_written: 0, denied: []};
  while (Date.now() < deadline) {
    attempts += 1;
    const denied = [];
    try {
      const run = local.replicate.to(remote, {batch_size: input.batch_size});
      run.on('denied', (error) => denied.push({id: error.id, reason: error.reason || error.message}));
      const result = await run;
      last = {ok: result.ok !== false, docs_written: result.docs_written, denied};
      if (last.ok && result.doc_write_failures === denied.length) {
        return {...last, attempts};
      }
    } catch (error) {
      last = {ok: false, docs_written: 0, denied, error: String(error.message || error.reason || error)};
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return {...last, ok: false, attempts, timed_out: true};
}

const phones = [];
for (const phone of input.phones) {
  const local = new PouchDB(phone.dir);
  await local.bulkDocs(phone.docs);
  phones.push({local, remote: remoteFor(phone.token)});
}
process.stdout.write('ready\n');
await iterator.next(); // "go"
const results = await Promise.all(phones.map(({local, remote}) => pushUntilDone(local, remote)));
process.stdout.write(JSON.stringify({results, batches}) + '\n');
lines.close();
