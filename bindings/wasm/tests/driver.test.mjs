// The high-level driver (fetch, timers, AbortSignal) against real local HTTP servers that
// misbehave: hanging, oversized, refusing connections, GitHub-style quirks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import {
  login, discover, CancelledError, InvalidResponseError, NetworkError, MisuseError, DeviceFlow,
} from '../../../pkg/node.mjs';

const servers = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); }))));

/** A real HTTP server on 127.0.0.1 running `handler`; resolves its base URL. */
async function serve(handler) {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${server.address().port}`, server };
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const fast = { retryBaseMs: 10, requestRetries: 1, maxTransientFailures: 2 };
const endpoints = (base) => ({ deviceAuthorizationEndpoint: `${base}/device`, tokenEndpoint: `${base}/token`, clientId: 'c' });

test('GitHub-style server: 200 with an error body, string interval, form-encoded tokens', async () => {
  let polls = 0;
  const { base } = await serve((req, res) => {
    if (req.url === '/device') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ device_code: 'dc', user_code: 'ABCD-1234', verification_uri: 'http://127.0.0.1/login/device', expires_in: '900', interval: '1' }));
    }
    polls += 1;
    if (polls === 1) {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ error: 'authorization_pending', error_description: 'pending' }));
    }
    res.setHeader('content-type', 'application/x-www-form-urlencoded');
    res.end('access_token=gho_secret&token_type=bearer&scope=read%3Auser');
  });
  const tokens = await login({ ...endpoints(base), scope: 'read:user', onCode: () => {} });
  assert.equal(tokens.access_token, 'gho_secret');
  assert.equal(tokens.scope, 'read:user');
  assert.equal(polls, 2);
});

test('an oversized body is refused as invalid_response without being read whole', async () => {
  let written = 0;
  const { base } = await serve((req, res) => {
    res.setHeader('content-type', 'application/json');
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (written < 50e6 && res.write(chunk)) written += chunk.length;
      if (written < 50e6) res.once('drain', pump); else res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  const error = await login({ ...endpoints(base), onCode: () => assert.fail() }).catch((e) => e);
  assert.ok(error instanceof InvalidResponseError, String(error));
  assert.ok(written < 10e6, `the client read ${written} bytes`);
});

test('a server that never answers: per-request timeout, retries, then NetworkError', async () => {
  let requests = 0;
  const { base } = await serve(() => { requests += 1; });
  const before = timers();
  const started = Date.now();
  const error = await login({ ...endpoints(base), timing: fast, timeoutMs: 150, onCode: () => assert.fail() }).catch((e) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.equal(requests, 2, 'one try and one retry');
  assert.ok(Date.now() - started < 2_000);
  assert.equal(timers(), before);
});

test('connection refused is a transport error, then NetworkError', async () => {
  const { base, server } = await serve(() => {});
  await new Promise((r) => server.close(r));
  const error = await discover({ issuer: base, timing: fast }).catch((e) => e);
  assert.ok(error instanceof NetworkError, String(error));
  assert.equal(error.code, 'network_error');
});

test('abort during a request: rejects at once and the connection is dropped', async () => {
  let closed;
  const { base } = await serve((req, res) => { closed = once(res, 'close'); });
  const controller = new AbortController();
  const before = timers();
  setTimeout(() => controller.abort(), 200);
  const started = Date.now();
  const error = await login({ ...endpoints(base), signal: controller.signal, onCode: () => assert.fail() }).catch((e) => e);
  assert.ok(error instanceof CancelledError, String(error));
  assert.ok(Date.now() - started < 400);
  assert.equal(error.cause?.name, 'AbortError');
  await closed;
  assert.equal(timers(), before);
});

test('an already-aborted signal sends nothing', async () => {
  let requests = 0;
  const { base } = await serve((req, res) => { requests += 1; res.end(); });
  const error = await login({ ...endpoints(base), signal: AbortSignal.abort('stop') }).catch((e) => e);
  assert.ok(error instanceof CancelledError);
  assert.equal(error.cause, 'stop');
  assert.equal(requests, 0);
});

test('an error thrown by onCode rejects login with it and clears everything', async () => {
  const { base } = await serve((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ device_code: 'dc', user_code: 'ABCD', verification_uri: 'http://127.0.0.1/d', expires_in: 60 }));
  });
  const before = timers();
  const mine = new Error('no screen');
  await assert.rejects(login({ ...endpoints(base), onCode: () => { throw mine; } }), (e) => e === mine);
  assert.equal(timers(), before);
});

test('a redirect is not followed (a token request must not turn into a GET elsewhere)', async () => {
  let followed = false;
  const { base } = await serve((req, res) => {
    if (req.url === '/elsewhere') { followed = true; return res.end('{}'); }
    res.writeHead(302, { location: '/elsewhere' }).end();
  });
  const error = await login({ ...endpoints(base), timing: fast, onCode: () => assert.fail() }).catch((e) => e);
  assert.ok(error instanceof Error && 'code' in error, String(error));
  assert.equal(followed, false);
});

test('low level: the same request driven by hand with fetch', async () => {
  const { base } = await serve((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ device_code: 'dc', user_code: 'WDJB-MJHT', verification_uri: `http://127.0.0.1/activate`, expires_in: 60 }));
  });
  const flow = new DeviceFlow(endpoints(base));
  const send = flow.pollAction();
  assert.equal(send.type, 'send');
  assert.equal(flow.pollAction().type, 'awaiting_response');
  const res = await fetch(send.url, send.fetchInit());
  flow.handleResponse(send.id, { status: res.status, headers: res.headers, body: await res.arrayBuffer() });
  const display = flow.pollAction();
  assert.equal(display.type, 'display');
  assert.equal(display.user_code, 'WDJB-MJHT');
  assert.equal(flow.prompt().user_code, 'WDJB-MJHT');
  const wait = flow.pollAction();
  assert.equal(wait.type, 'wait');
  assert.equal(wait.reason, 'interval');
  assert.throws(() => flow.handleResponse(send.id, { status: 200 }), (e) => e instanceof MisuseError && e.code === 'unknown_request');
  flow.cancel();
  assert.equal(flow.pollAction().error.code, 'cancelled');
  assert.throws(() => flow.cancel(), (e) => e instanceof MisuseError && e.code === 'finished');
  flow.free();
});

test('an abort that lands while the final response is being handled still rejects', async () => {
  const { base } = await serve((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/device') return res.end(JSON.stringify({ device_code: 'dc', user_code: 'ABCD', verification_uri: 'http://127.0.0.1/d', expires_in: 60, interval: 1 }));
    res.end(JSON.stringify({ access_token: 'at', token_type: 'Bearer' }));
  });
  const controller = new AbortController();
  const fetchThenAbort = async (url, init) => {
    const response = await fetch(url, init);
    if (url.endsWith('/token')) controller.abort('late');
    return response;
  };
  const error = await login({ ...endpoints(base), fetch: fetchThenAbort, signal: controller.signal, onCode: () => {} }).catch((e) => e);
  assert.ok(error instanceof CancelledError, String(error));
  assert.equal(error.cause, 'late');
});
