// Bench helper (scripts/bench/pwa): gives every service worker the same emulated network as the page.
//
// CDP's Network.emulateNetworkConditions on a page does not slow down its service worker, whose install
// fetches the app shell over the same link; Playwright cannot talk to worker sessions of a browser-level CDP
// connection, so this script does, over the browser's DevTools socket. Usage:
//   node --experimental-websocket throttle_workers.mjs <ws://browser endpoint> '<conditions JSON>'
// Prints "ready" once new workers will be throttled from their first request, "throttled <url>" per worker,
// then one JSON line per request a worker finished: {"url", "bytes" (over the network), "cache" (true when
// the browser's HTTP cache answered), "sent", "done" (CDP timestamps, the page's clock)}.
const [endpoint, conditionsJson] = process.argv.slice(2);
const conditions = JSON.parse(conditionsJson);
const socket = new WebSocket(endpoint);
let nextId = 0;
const send = (method, params = {}, sessionId = undefined) =>
  socket.send(JSON.stringify({ id: ++nextId, method, params, ...(sessionId ? { sessionId } : {}) }));

socket.onopen = () => {
  // Workers start paused until told to run, so the emulation is in place before their first fetch.
  send('Target.setAutoAttach', {
    autoAttach: true, waitForDebuggerOnStart: true, flatten: true,
    filter: [{ type: 'service_worker' }, { exclude: true }],
  });
};
const requests = new Map();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.id === 1) console.log(message.error ? `error ${JSON.stringify(message.error)}` : 'ready');
  const key = `${message.sessionId}/${message.params?.requestId}`;
  if (message.method === 'Network.requestWillBeSent') {
    requests.set(key, { url: message.params.request.url, cache: false, sent: message.params.timestamp });
  }
  if (message.method === 'Network.responseReceived' && requests.has(key)) {
    requests.get(key).cache = Boolean(message.params.response.fromDiskCache || message.params.response.fromPrefetchCache);
  }
  if (message.method === 'Network.requestServedFromCache' && requests.has(key)) requests.get(key).cache = true;
  if (message.method === 'Network.loadingFinished' && requests.has(key)) {
    console.log(JSON.stringify({ ...requests.get(key), bytes: message.params.encodedDataLength, done: message.params.timestamp }));
    requests.delete(key);
  }
  if (message.method !== 'Target.attachedToTarget') return;
  const { sessionId, targetInfo } = message.params;
  send('Network.enable', {}, sessionId);
  send('Network.emulateNetworkConditions', conditions, sessionId);
  send('Runtime.runIfWaitingForDebugger', {}, sessionId);
  console.log(`throttled ${targetInfo.type} ${targetInfo.url}`);
};
socket.onerror = (error) => { console.log(`error ${error.message || error}`); process.exit(1); };
