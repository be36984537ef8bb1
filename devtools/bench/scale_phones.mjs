// Stock PouchDB 9 phones for scripts/bench/scale, driven from Python (devtools/bench/scale_node.py).
//
// One node process, many phones: commands arrive one JSON object a line on stdin, answers and events leave
// one JSON object a line on stdout, so the Python side times what happens inside the phone (not node's
// start-up) and hears of each pulled record the moment PouchDB has stored it. The only thing added to
// PouchDB is the `Authorization: Bearer <device token>` header, as every machine client sends it.
//
// Commands:
//   {op: "pull", url, token, dir}     one-shot pull into the LevelDB database in `dir` (its checkpoint is
//                                     used, as a phone coming back online uses it); answers
//                                     {op: "pull", ok, seconds, docs_written, ids, error}
//   {op: "live", url, phones: [{name, token, dir}]}
//                                     start `replicate.from(url, {live: true, retry: true})` for each phone;
//                                     answers {op: "live", started}; then, per phone, events
//                                     {event: "change", phone, ids, at} (at: Unix seconds) and
//                                     {event: "paused", phone} (caught up, waiting on its longpoll)
//   {op: "stop"}                      cancel every live replication, close the databases, answer
//                                     {op: "stopped"} and exit

import readline from 'node:readline';
import PouchDB from 'pouchdb';

const live = [];

function say(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function remoteFor(url, token) {
  return new PouchDB(url, {headers: {Authorization: `Bearer ${token}`}, skip_setup: false});
}

async function pull(command) {
  const local = new PouchDB(command.dir);
  const remote = remoteFor(command.url, command.token);
  const ids = [];
  const started = performance.now();
  try {
    const run = local.replicate.from(remote);
    run.on('change', (info) => { for (const doc of info.docs) ids.push(doc._id); });
    const result = await run;
    const seconds = (performance.now() - started) / 1000;
    say({op: 'pull', ok: result.ok !== false, seconds, docs_written: result.docs_written, ids});
  } catch (error) {
    say({op: 'pull', ok: false, seconds: (performance.now() - started) / 1000, docs_written: 0, ids,
      error: String(error.message || error.reason || error)});
  } finally {
    await local.close();
    await remote.close();
  }
}

function startLive(command) {
  for (const phone of command.phones) {
    const local = new PouchDB(phone.dir);
    const remote = remoteFor(command.url, phone.token);
    const run = local.replicate.from(remote, {live: true, retry: true, back_off_function: () => 1000});
    run.on('change', (info) => {
      say({event: 'change', phone: phone.name, ids: info.docs.map((doc) => doc._id), at: Date.now() / 1000});
    });
    run.on('paused', (error) => {
      say({event: 'paused', phone: phone.name, error: error ? String(error.message || error) : null});
    });
    run.on('error', (error) => say({event: 'error', phone: phone.name, error: String(error.message || error)}));
    live.push({local, remote, run});
  }
  say({op: 'live', started: command.phones.length});
}

async function stop() {
  for (const phone of live) {
    phone.run.cancel();
  }
  for (const phone of live) {
    await phone.local.close();
    await phone.remote.close();
  }
  say({op: 'stopped'});
  process.exit(0);
}

const lines = readline.createInterface({input: process.stdin});
// Commands run one after another: a pull is timed alone, never beside the next command.
let queue = Promise.resolve();
lines.on('line', (line) => {
  if (!line.trim()) {
    return;
  }
  const command = JSON.parse(line);
  queue = queue.then(async () => {
    if (command.op === 'pull') {
      await pull(command);
    } else if (command.op === 'live') {
      startLive(command);
    } else if (command.op === 'stop') {
      await stop();
    } else {
      say({op: 'error', error: `unknown op ${command.op}`});
    }
  });
});
lines.on('close', () => { queue.then(stop); });
