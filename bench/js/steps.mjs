// Per-step cost, side by side in one Node run, on the same bodies: deviceflow (wasm, through
// the package's public low-level API) vs oauth4webapi's processing functions.
//   device authorization response: handleResponse + pollAction (display)  vs  processDeviceAuthorizationResponse
//   token response (device code grant): handleResponse + pollAction (done)  vs  processDeviceCodeResponse
//   pending (400 authorization_pending): handleResponse + pollAction (wait)  vs  processDeviceCodeResponse (throws)
// oauth4webapi needs a fetch Response per call; building it is timed separately and reported,
// not included (a real client gets it from fetch). Machines are prepared outside the timed loop.
//   node --expose-gc bench/js/steps.mjs [calls per round, default 5000]
import * as o4w from '../../tests/node_modules/oauth4webapi/build/index.js';
import { DeviceFlow } from '../../pkg/node.mjs';

const N = Number(process.argv[2] ?? 5000);
const ISSUER = 'https://as.example.com';
const as = { issuer: ISSUER, device_authorization_endpoint: `${ISSUER}/device`, token_endpoint: `${ISSUER}/token` };
const client = { client_id: 'cli' };
const config = { clientId: 'cli', deviceAuthorizationEndpoint: as.device_authorization_endpoint, tokenEndpoint: as.token_endpoint, scope: 'profile' };
const JSON_HEADERS = [['content-type', 'application/json']];

const DEVICE = JSON.stringify({ device_code: 'GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS', user_code: 'WDJB-MJHT',
  verification_uri: `${ISSUER}/device`, verification_uri_complete: `${ISSUER}/device?user_code=WDJB-MJHT`, expires_in: 1800, interval: 5 });
const TOKEN = JSON.stringify({ access_token: '2YotnFZFEjr1zCsicMWpAA', token_type: 'Bearer', expires_in: 3600,
  refresh_token: 'tGzv3JOkF0XG5Qx2TlKWIA', scope: 'profile' });
const PENDING = JSON.stringify({ error: 'authorization_pending', error_description: 'waiting for the user' });

/** A machine with the device authorization request in flight. */
function authorizing() {
  const flow = new DeviceFlow(config, 0);
  return [flow, flow.pollAction(0).id];
}

/** A machine with a token request in flight. */
function polling() {
  const [flow, id] = authorizing();
  flow.handleResponse(id, { status: 200, headers: JSON_HEADERS, body: DEVICE }, 10);
  flow.pollAction(10); // display
  const send = flow.pollAction(60_000);
  if (send.type !== 'send') throw new Error(`expected send, got ${send.type}`);
  return [flow, send.id];
}

const encoder = new TextEncoder();

async function time(label, prepare, run) {
  const items = Array.from({ length: N }, prepare);
  globalThis.gc?.(); // with --expose-gc: collect the preparation's garbage outside the timed loop
  const started = process.hrtime.bigint();
  for (const item of items) await run(item);
  const us = Number(process.hrtime.bigint() - started) / 1e3 / N;
  return [label, us];
}

async function measure() {
  const deviceBytes = encoder.encode(DEVICE);
  const tokenBytes = encoder.encode(TOKEN);
  const pendingBytes = encoder.encode(PENDING);
  const checked = (want) => (a) => { if (a.type !== want) throw new Error(`expected ${want}, got ${a.type}`); };
  const isDisplay = checked('display');
  const isDone = checked('done');
  const isWait = checked('wait');
  return [
    await time('device authorization response: deviceflow', authorizing, ([flow, id]) => {
      flow.handleResponse(id, { status: 200, headers: JSON_HEADERS, body: deviceBytes }, 10);
      isDisplay(flow.pollAction(10));
    }),
    await time('device authorization response: oauth4webapi processDeviceAuthorizationResponse',
      () => new Response(DEVICE, { status: 200, headers: JSON_HEADERS }),
      async (response) => { await o4w.processDeviceAuthorizationResponse(as, client, response); }),
    await time('token response: deviceflow', polling, ([flow, id]) => {
      flow.handleResponse(id, { status: 200, headers: JSON_HEADERS, body: tokenBytes }, 60_100);
      isDone(flow.pollAction(60_100));
    }),
    await time('token response: oauth4webapi processDeviceCodeResponse',
      () => new Response(TOKEN, { status: 200, headers: JSON_HEADERS }),
      async (response) => { await o4w.processDeviceCodeResponse(as, client, response); }),
    await time('authorization_pending: deviceflow', polling, ([flow, id]) => {
      flow.handleResponse(id, { status: 400, headers: JSON_HEADERS, body: pendingBytes }, 60_100);
      isWait(flow.pollAction(60_100));
    }),
    await time('authorization_pending: oauth4webapi processDeviceCodeResponse (throws ResponseBodyError)',
      () => new Response(PENDING, { status: 400, headers: JSON_HEADERS }),
      async (response) => {
        try { await o4w.processDeviceCodeResponse(as, client, response); throw new Error('no error'); } catch (e) {
          if (e.error !== 'authorization_pending') throw e;
        }
      }),
    await time('(not included above) new Response(body) for oauth4webapi', () => TOKEN,
      (body) => new Response(body, { status: 200, headers: JSON_HEADERS })),
    await time('(not included above) new DeviceFlow + first pollAction', () => null, () => authorizing()[0].free()),
  ];
}

const ROUNDS = 5;
await measure(); // warm-up: JIT, wasm tier-up
const rounds = [];
for (let r = 0; r < ROUNDS; r++) rounds.push(await measure());
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(`node ${process.version}; ${N} calls per row per round; ${ROUNDS} rounds after a warm-up round\n`);
// The minimum is the least disturbed by other load on the machine; the median shows the spread.
console.log('| step | µs per call, min | median | max |\n|---|---:|---:|---:|');
rounds[0].forEach(([label], i) => {
  const xs = rounds.map((round) => round[i][1]);
  console.log(`| ${label} | ${Math.min(...xs).toFixed(2)} | ${median([...xs]).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`);
});
