// End to end against a real node-oidc-provider (tests/e2e/provider.mjs) on 127.0.0.1; the user
// approves or denies through the provider's own pages (tests/e2e/approve.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { startProvider } from '../../../tests/e2e/harness.mjs';
import { approve } from '../../../tests/e2e/approve.mjs';
import {
  login, discover, refresh, revoke, TokenSet, AccessDeniedError, ExpiredTokenError,
  CancelledError, InvalidGrantError, InvalidClientError, DeviceFlowError,
} from '../../../pkg/node.mjs';

let op;
before(async () => { op = await startProvider({ DEVICE_INTERVAL: '1' }); });
after(async () => { await op?.stop(); });

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** login() whose onCode approves (or denies) as a person would, in parallel with the polling. */
async function loginApproved(options, { deny = false, username = 'alice' } = {}) {
  let approval;
  const shown = [];
  const tokens = await login({
    issuer: op.issuer,
    clientId: 'public-cli',
    scope: 'openid offline_access profile',
    onCode: (prompt) => {
      shown.push(prompt);
      approval = approve({ issuer: op.issuer, userCode: prompt.user_code, deny, username });
    },
    ...options,
  }).finally(() => approval);
  return { tokens, shown, approval: await approval };
}

function claims(idToken) {
  return JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString());
}

test('public client via issuer discovery: approve through the provider pages, get tokens', async () => {
  const before = timers();
  const started = Date.now();
  const { tokens, shown, approval } = await loginApproved({}, { username: 'carol' });
  assert.deepEqual(approval, { ok: true, action: 'approved' });
  assert.equal(shown.length, 1);
  assert.equal(shown[0].type, 'display');
  assert.match(shown[0].user_code, /^[A-Z]{4}-[A-Z]{4}$/);
  assert.equal(shown[0].verification_uri, `${op.issuer}/device`);
  assert.equal(shown[0].verification_host, '127.0.0.1');
  assert.equal(shown[0].interval, 1);
  assert.ok(tokens instanceof TokenSet);
  assert.match(tokens.token_type, /^bearer$/i);
  assert.ok(tokens.access_token.length > 20 && tokens.refresh_token.length > 20);
  assert.equal(claims(tokens.id_token).sub, 'carol');
  assert.ok(tokens.expires_at >= started + tokens.expires_in * 1000 && tokens.expires_at <= Date.now() + tokens.expires_in * 1000);
  assert.equal(tokens.needsRefresh(), false);
  assert.equal(timers(), before, 'a timer outlived login()');
  // Printing the result shows no secret.
  for (const shownText of [String(tokens), JSON.stringify(tokens), inspect(tokens, { depth: 9 }), inspect({ tokens })]) {
    for (const secret of [tokens.access_token, tokens.refresh_token, tokens.id_token]) assert.ok(!shownText.includes(secret));
  }
  // The explicit storage form round-trips.
  const stored = TokenSet.deserialize(tokens.serialize());
  assert.equal(stored.refresh_token, tokens.refresh_token);
  assert.equal(stored.expires_at, tokens.expires_at);
});

test('confidential clients with explicit endpoints: client_secret_basic and client_secret_post', async () => {
  const meta = await discover({ issuer: op.issuer });
  assert.equal(meta.issuer, op.issuer);
  assert.equal(meta.token_endpoint, `${op.issuer}/token`);
  for (const [clientId, clientSecret, clientAuth] of [['basic-cli', 'basic-secret', undefined], ['post-cli', 'post-secret', 'client_secret_post']]) {
    const { tokens } = await loginApproved({
      issuer: undefined,
      deviceAuthorizationEndpoint: meta.device_authorization_endpoint,
      tokenEndpoint: meta.token_endpoint,
      clientId, clientSecret, clientAuth,
      scope: 'openid',
    });
    assert.ok(tokens.access_token, clientId);
    assert.equal(tokens.refresh_token, null, 'no offline_access, no refresh token');
  }
});

test('a wrong client secret is InvalidClientError', async () => {
  await assert.rejects(
    login({ issuer: op.issuer, clientId: 'basic-cli', clientSecret: 'wrong', scope: 'openid', onCode: () => assert.fail('no code expected') }),
    (e) => e instanceof InvalidClientError && e.code === 'invalid_client' && e.status === 401,
  );
});

test('refresh rotates the refresh token; reusing the old one is InvalidGrantError; revoke works', async () => {
  const { tokens } = await loginApproved({ scope: 'openid offline_access' });
  const renewed = await refresh({ issuer: op.issuer, clientId: 'public-cli', refreshToken: tokens.refresh_token });
  assert.ok(renewed instanceof TokenSet);
  assert.notEqual(renewed.access_token, tokens.access_token);
  assert.notEqual(renewed.refresh_token, tokens.refresh_token, 'rotation is on');
  const reused = await refresh({ issuer: op.issuer, clientId: 'public-cli', refreshToken: tokens.refresh_token }).catch((e) => e);
  assert.ok(reused instanceof InvalidGrantError, String(reused));
  assert.equal(reused.requiresLogin, true);

  const { tokens: fresh } = await loginApproved({ scope: 'openid offline_access' });
  const meta = await discover({ issuer: op.issuer });
  assert.deepEqual(await revoke({ revocationEndpoint: meta.revocation_endpoint, clientId: 'public-cli', token: fresh.refresh_token, tokenTypeHint: 'refresh_token' }), { status: 200 });
  await assert.rejects(
    refresh({ tokenEndpoint: meta.token_endpoint, clientId: 'public-cli', refreshToken: fresh.refresh_token }),
    (e) => e instanceof InvalidGrantError,
  );
});

test('the user denies: AccessDeniedError', async () => {
  const error = await loginApproved({}, { deny: true }).catch((e) => e);
  assert.ok(error instanceof AccessDeniedError, String(error));
  assert.ok(error instanceof DeviceFlowError && error instanceof Error);
  assert.equal(error.code, 'access_denied');
  assert.equal(error.error, 'access_denied');
  assert.equal(error.requiresLogin, true);
});

test('the code expires (DEVICE_TTL=2) without approval: ExpiredTokenError', async () => {
  const short = await startProvider({ DEVICE_INTERVAL: '1', DEVICE_TTL: '2' });
  try {
    const before = timers();
    const started = Date.now();
    const error = await login({ issuer: short.issuer, clientId: 'public-cli', scope: 'openid', onCode: () => {} }).catch((e) => e);
    assert.ok(error instanceof ExpiredTokenError, String(error));
    assert.equal(error.code, 'expired_token');
    assert.ok(Date.now() - started < 6_000, 'gave up soon after the expiry');
    assert.equal(timers(), before);
  } finally {
    await short.stop();
  }
});

test('aborting mid-wait rejects at once with CancelledError and leaves no timer', async () => {
  const before = timers();
  const controller = new AbortController();
  const reason = new Error('user pressed Ctrl-C');
  let abortedAt;
  const error = await login({
    issuer: op.issuer, clientId: 'public-cli', scope: 'openid', signal: controller.signal,
    // Abort in the middle of the first wait (the interval is 1 s).
    onCode: () => { setTimeout(() => { abortedAt = Date.now(); controller.abort(reason); }, 300); },
  }).catch((e) => e);
  const latency = Date.now() - abortedAt;
  assert.ok(error instanceof CancelledError, String(error));
  assert.equal(error.code, 'cancelled');
  assert.equal(error.cause, reason);
  assert.ok(latency < 100, `cancelled ${latency} ms after abort()`);
  assert.equal(timers(), before, 'a timer outlived the abort');
});
