// Proves the e2e infrastructure (provider.mjs + approve.mjs) with plain fetch, no project code.
// Run: node --test tests/e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { approve } from './approve.mjs';
import { startProvider, postForm, basicAuth, DEVICE_GRANT, APPROVE, PROVIDER } from './harness.mjs';

const T = { timeout: 45_000 };
const providers = [];
const start = async (env) => { const p = await startProvider(env); providers.push(p); return p; };
after(() => Promise.all(providers.map((p) => p.stop())));

let op; // shared provider, DEVICE_INTERVAL=1
before(async () => { op = await start({ DEVICE_INTERVAL: '1' }); });

async function deviceAuthorization(issuer, { clientId = 'public-cli', scope = 'openid offline_access', headers = {}, form = {} } = {}) {
  const res = await postForm(`${issuer}/device/auth`, { client_id: clientId, scope, ...form }, headers);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

// Polls like an RFC 8628 client: waits `interval` between polls, +5 s on slow_down, until not pending.
async function pollToken(issuer, dev, { form = { client_id: 'public-cli' }, headers = {}, deadlineMs = 30_000 } = {}) {
  let interval = (dev.interval ?? 5) * 1000;
  const deadline = Date.now() + deadlineMs;
  const seen = [];
  for (;;) {
    const res = await postForm(`${issuer}/token`, { ...form, grant_type: DEVICE_GRANT, device_code: dev.device_code }, headers);
    const error = res.body?.error;
    seen.push(error ?? res.status);
    if (error !== 'authorization_pending' && error !== 'slow_down') return { ...res, seen };
    if (error === 'slow_down') interval += 5000;
    if (Date.now() + interval > deadline) assert.fail(`still ${error} after ${deadlineMs} ms: ${seen.join(', ')}`);
    await sleep(interval);
  }
}

test('public client: device code -> approve -> tokens -> refresh (rotated) -> revoke -> refused', T, async () => {
  const dev = await deviceAuthorization(op.issuer);
  assert.match(dev.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(dev.verification_uri, `${op.issuer}/device`);
  assert.equal(dev.interval, 1);

  const first = await postForm(`${op.issuer}/token`, { client_id: 'public-cli', grant_type: DEVICE_GRANT, device_code: dev.device_code });
  assert.equal(first.status, 400);
  assert.equal(first.body.error, 'authorization_pending');

  assert.deepEqual(await approve({ issuer: op.issuer, userCode: dev.user_code }), { ok: true, action: 'approved' });
  const tok = await pollToken(op.issuer, dev);
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.equal(tok.body.token_type, 'Bearer');
  assert.ok(tok.body.access_token && tok.body.refresh_token && tok.body.id_token);
  assert.equal(tok.body.scope, 'openid offline_access');
  const claims = JSON.parse(Buffer.from(tok.body.id_token.split('.')[1], 'base64url'));
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.iss, op.issuer);

  const ref = await postForm(`${op.issuer}/token`, { client_id: 'public-cli', grant_type: 'refresh_token', refresh_token: tok.body.refresh_token });
  assert.equal(ref.status, 200, JSON.stringify(ref.body));
  assert.ok(ref.body.access_token);
  assert.ok(ref.body.refresh_token);
  assert.notEqual(ref.body.refresh_token, tok.body.refresh_token, 'refresh token rotated');

  const rev = await postForm(`${op.issuer}/token/revocation`, { client_id: 'public-cli', token: ref.body.refresh_token, token_type_hint: 'refresh_token' });
  assert.equal(rev.status, 200);

  const refused = await postForm(`${op.issuer}/token`, { client_id: 'public-cli', grant_type: 'refresh_token', refresh_token: ref.body.refresh_token });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, 'invalid_grant');

  // the device code is single use (reusing it also revokes its grant, hence checked last)
  const again = await postForm(`${op.issuer}/token`, { client_id: 'public-cli', grant_type: DEVICE_GRANT, device_code: dev.device_code });
  assert.equal(again.body.error, 'invalid_grant');
});

test('deny on the confirmation page -> access_denied', T, async () => {
  const dev = await deviceAuthorization(op.issuer);
  assert.deepEqual(await approve({ issuer: op.issuer, userCode: dev.user_code, deny: true }), { ok: true, action: 'denied' });
  const res = await pollToken(op.issuer, dev);
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'access_denied');
});

test('user code without dash, lower case, other username, via verification_uri_complete', T, async () => {
  const dev = await deviceAuthorization(op.issuer, { scope: 'openid profile email' });
  await approve({ issuer: op.issuer, userCode: dev.user_code.replace('-', '').toLowerCase(), username: 'bob' });
  const tok = await pollToken(op.issuer, dev);
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.equal(tok.body.refresh_token, undefined, 'no offline_access, no refresh token');
  assert.equal(JSON.parse(Buffer.from(tok.body.id_token.split('.')[1], 'base64url')).sub, 'bob');

  const dev2 = await deviceAuthorization(op.issuer);
  await approve({ issuer: op.issuer, userCode: dev2.user_code, verificationUri: dev2.verification_uri_complete });
  assert.equal((await pollToken(op.issuer, dev2)).status, 200);
});

test('approve rejects an unknown or already used code', T, async () => {
  await assert.rejects(approve({ issuer: op.issuer, userCode: 'BCDF-GHJK' }), /did not accept user code/);
  const dev = await deviceAuthorization(op.issuer);
  await approve({ issuer: op.issuer, userCode: dev.user_code });
  await assert.rejects(approve({ issuer: op.issuer, userCode: dev.user_code }), /did not accept user code/);
});

test('approve.mjs CLI: JSON line + exit 0, message + exit 1', T, async () => {
  const run = promisify(execFile);
  const dev = await deviceAuthorization(op.issuer);
  const ok = await run(process.execPath, [APPROVE, '--issuer', op.issuer, '--user-code', dev.user_code, '--deny'], { timeout: 30_000 });
  assert.deepEqual(JSON.parse(ok.stdout), { ok: true, action: 'denied' });
  assert.equal(ok.stdout.trim().split('\n').length, 1);
  const bad = await run(process.execPath, [APPROVE, '--issuer', op.issuer, '--user-code', 'ZZZZ-ZZZZ'], { timeout: 30_000 })
    .then(() => assert.fail('should exit 1'), (e) => e);
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /did not accept user code ZZZZ-ZZZZ/);
});

test('confidential clients: client_secret_basic and client_secret_post; introspection', T, async () => {
  const basic = { authorization: basicAuth('basic-cli', 'basic-secret') };
  const dev = await deviceAuthorization(op.issuer, { clientId: null, headers: basic });
  await approve({ issuer: op.issuer, userCode: dev.user_code });
  const tok = await pollToken(op.issuer, dev, { form: {}, headers: basic });
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  assert.ok(tok.body.refresh_token);

  const intro = await postForm(`${op.issuer}/token/introspection`, { token: tok.body.access_token }, basic);
  assert.equal(intro.status, 200);
  assert.equal(intro.body.active, true);
  assert.equal(intro.body.client_id, 'basic-cli');

  const wrong = await postForm(`${op.issuer}/device/auth`, { scope: 'openid' }, { authorization: basicAuth('basic-cli', 'nope') });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');

  const post = { client_id: 'post-cli', client_secret: 'post-secret' };
  const dev2 = await deviceAuthorization(op.issuer, { clientId: 'post-cli', form: { client_secret: 'post-secret' } });
  await approve({ issuer: op.issuer, userCode: dev2.user_code });
  const tok2 = await pollToken(op.issuer, dev2, { form: post });
  assert.equal(tok2.status, 200, JSON.stringify(tok2.body));
  const ref = await postForm(`${op.issuer}/token`, { ...post, grant_type: 'refresh_token', refresh_token: tok2.body.refresh_token });
  assert.equal(ref.status, 200, JSON.stringify(ref.body));
});

test('CORS: any origin may call the device and token endpoints', T, async () => {
  const origin = 'http://127.0.0.1:9';
  const res = await postForm(`${op.issuer}/device/auth`, { client_id: 'public-cli', scope: 'openid' }, { origin });
  assert.equal(res.headers.get('access-control-allow-origin'), origin);
  const pre = await fetch(`${op.issuer}/token`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
  });
  assert.ok(pre.status < 300);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
});

test('DEVICE_TTL=2: polling after expiry -> expired_token', T, async () => {
  const short = await start({ DEVICE_TTL: '2', DEVICE_INTERVAL: '1' });
  const dev = await deviceAuthorization(short.issuer);
  assert.equal(dev.expires_in, 2);
  const res = await pollToken(short.issuer, dev, { deadlineMs: 15_000 });
  assert.equal(res.status, 400);
  assert.equal(res.body.error, 'expired_token');
});

test('no DEVICE_INTERVAL: the response has no interval (node-oidc-provider default)', T, async () => {
  const plain = await start({});
  const dev = await deviceAuthorization(plain.issuer);
  assert.equal('interval' in dev, false);
});

test('SLOW_DOWN_FIRST=1: first poll per device code -> slow_down, then normal', T, async () => {
  const slow = await start({ SLOW_DOWN_FIRST: '1', DEVICE_INTERVAL: '1' });
  const dev = await deviceAuthorization(slow.issuer);
  const origin = 'http://127.0.0.1:9';
  const poll = () => postForm(`${slow.issuer}/token`, { client_id: 'public-cli', grant_type: DEVICE_GRANT, device_code: dev.device_code }, { origin });
  const first = await poll();
  assert.equal(first.status, 400);
  assert.equal(first.body.error, 'slow_down');
  assert.equal(first.headers.get('access-control-allow-origin'), origin);
  assert.equal((await poll()).body.error, 'authorization_pending');
  await approve({ issuer: slow.issuer, userCode: dev.user_code });
  const tok = await poll();
  assert.equal(tok.status, 200, JSON.stringify(tok.body));
  // refresh goes through untouched
  const ref = await postForm(`${slow.issuer}/token`, { client_id: 'public-cli', grant_type: 'refresh_token', refresh_token: tok.body.refresh_token });
  assert.equal(ref.status, 200, JSON.stringify(ref.body));
});

test('provider.mjs stops by itself: stdin EOF, SIGTERM, MAX_LIFETIME', T, async () => {
  const a = await start({});
  a.child.stdin.end();
  assert.deepEqual(await a.exited, [0, null]);
  assert.match(a.stderr(), /stdin EOF/);
  assert.equal(a.stdout(), `${JSON.stringify({ issuer: a.issuer, pid: a.pid })}\n`, 'stdout is exactly one JSON line');
  assert.equal(a.pid, a.child.pid);

  const b = await start({});
  b.child.kill('SIGTERM');
  assert.deepEqual(await b.exited, [0, null]);

  // MAX_LIFETIME counts from process start, so on a loaded machine it may end before it is listening:
  // only its exit is checked here.
  const c = spawn(process.execPath, [PROVIDER], { env: { ...process.env, PORT: '0', MAX_LIFETIME: '1' }, stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  assert.deepEqual(await once(c, 'exit'), [0, null]);
  assert.match(err, /MAX_LIFETIME 1s reached/);
});
