// DPoP (RFC 9449) end to end in Node against node-oidc-provider (tests/e2e/provider.mjs): the
// public client `dpop-cli` must prove possession (dpop_bound_access_tokens), once without and
// once with server nonces required (DPOP_NONCE=1). A WebCrypto non-extractable key logs in, the
// token works at userinfo only with the helper's headers, refresh needs the same key, revoke.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProvider } from '../../../tests/e2e/harness.mjs';
import { approve } from '../../../tests/e2e/approve.mjs';
import {
  login, refresh, revoke, generateDpopKey, dpopHeaders, dpopFetch, TokenSet,
  InvalidGrantError, DeviceFlowError,
} from '../../../pkg/node.mjs';

/** Records every request the driver makes (method, url, DPoP proof present, status). */
function recordingFetch(log) {
  return async (url, init) => {
    const headers = new Headers(init.headers);
    const response = await fetch(url, init);
    log.push({ method: init.method, url: String(url), proof: headers.get('dpop'), status: response.status });
    return response;
  };
}

async function loginDpop(op, dpop, log) {
  let approval;
  const tokens = await login({
    issuer: op.issuer,
    clientId: 'dpop-cli',
    scope: 'openid offline_access',
    dpop,
    fetch: recordingFetch(log),
    onCode: (prompt) => { approval = approve({ issuer: op.issuer, userCode: prompt.user_code }); },
  }).finally(() => approval);
  assert.deepEqual(await approval, { ok: true, action: 'approved' });
  return tokens;
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

for (const nonces of [false, true]) {
  describe(`dpop-cli against node-oidc-provider${nonces ? ' with DPOP_NONCE=1' : ''}`, () => {
    let op, userinfo;
    before(async () => {
      op = await startProvider({ DEVICE_INTERVAL: '1', ...(nonces ? { DPOP_NONCE: '1' } : {}) });
      userinfo = `${op.issuer}/me`; // node-oidc-provider's userinfo_endpoint
    });
    after(async () => { await op?.stop(); });

    test('login, userinfo with the helper (Bearer refused), refresh with the same key, revoke', async () => {
      const key = await generateDpopKey();
      assert.equal(key.privateKey.extractable, false);
      const dpop = { key };
      const log = [];
      const tokens = await loginDpop(op, dpop, log);
      assert.ok(tokens instanceof TokenSet);
      assert.equal(tokens.token_type, 'DPoP');
      // Every POST (device request, polls, nonce retries) carried its own proof; GETs none.
      const posts = log.filter((r) => r.method === 'POST');
      assert.ok(posts.length >= 2 && posts.every((r) => r.proof), JSON.stringify(log));
      assert.ok(log.filter((r) => r.method === 'GET').every((r) => r.proof === null));
      assert.equal(new Set(posts.map((r) => claims(r.proof).jti)).size, posts.length, 'a fresh jti per proof');
      if (nonces) {
        assert.ok(posts.some((r) => r.status === 400), 'met use_dpop_nonce');
        assert.deepEqual(Object.keys(dpop.nonces), [op.issuer], 'the nonce learnt is kept for the next operation');
      }
      // The access token is bound to the key: cnf.jkt (node-oidc-provider issues JWT or opaque).
      const at = tokens.access_token;

      // userinfo: dpopFetch handles the resource's own nonce; dpopHeaders with that nonce works.
      const me = await dpopFetch(userinfo, { accessToken: at, key });
      assert.equal(me.status, 200, await me.clone().text());
      assert.equal((await me.json()).sub, 'alice');
      if (nonces) assert.ok(me.dpopNonce, 'the resource nonce is handed back');
      const headers = await dpopHeaders({ method: 'GET', url: userinfo, accessToken: at, key, nonce: me.dpopNonce ?? undefined });
      assert.deepEqual(Object.keys(headers).sort(), ['Authorization', 'DPoP']);
      assert.equal(headers.Authorization, `DPoP ${at}`);
      const direct = await fetch(userinfo, { headers });
      assert.equal(direct.status, 200, await direct.text());
      // The same token as a bearer token, or without a proof, is refused.
      for (const auth of [`Bearer ${at}`, `DPoP ${at}`]) {
        const refused = await fetch(userinfo, { headers: { Authorization: auth } });
        assert.ok(refused.status === 400 || refused.status === 401, `${auth.split(' ')[0]}: ${refused.status}`);
      }
      // A proof made for another URL is refused too (htu is checked).
      const elsewhere = await dpopHeaders({ url: `${op.issuer}/other`, accessToken: at, key, nonce: me.dpopNonce ?? undefined });
      assert.equal((await fetch(userinfo, { headers: elsewhere })).status, 401);

      // Refresh: another key is refused (a public client's refresh token is bound), the same works.
      const other = await refresh({ issuer: op.issuer, clientId: 'dpop-cli', refreshToken: tokens.refresh_token, dpop: { key: await generateDpopKey() } }).catch((e) => e);
      assert.ok(other instanceof InvalidGrantError, String(other));
      const renewed = await refresh({ issuer: op.issuer, clientId: 'dpop-cli', refreshToken: tokens.refresh_token, dpop });
      assert.equal(renewed.token_type, 'DPoP');
      assert.notEqual(renewed.access_token, at);
      const again = await dpopFetch(userinfo, { accessToken: renewed.access_token, key, nonce: me.dpopNonce ?? undefined });
      assert.equal(again.status, 200);

      // Revocation with the same key; the refresh token is dead afterwards.
      assert.deepEqual(await revoke({ issuer: op.issuer, clientId: 'dpop-cli', token: renewed.refresh_token, tokenTypeHint: 'refresh_token', dpop }), { status: 200 });
      await assert.rejects(
        refresh({ issuer: op.issuer, clientId: 'dpop-cli', refreshToken: renewed.refresh_token, dpop }),
        (e) => e instanceof InvalidGrantError,
      );
    });

    test('the default key: dpop: {} generates a non-extractable key and keeps it in the option', async () => {
      const dpop = { deviceRequest: false };
      const log = [];
      const tokens = await loginDpop(op, dpop, log);
      assert.equal(tokens.token_type, 'DPoP');
      assert.equal(dpop.key.privateKey.extractable, false);
      const device = log.find((r) => r.url.endsWith('/device/auth'));
      assert.equal(device?.proof, null, 'deviceRequest: false sends the device request without a proof');
      const me = await dpopFetch(userinfo, { accessToken: tokens.access_token, key: dpop.key });
      assert.equal(me.status, 200);
    });

    test('dpop-cli without DPoP gets no token', async () => {
      let approval;
      const error = await login({
        issuer: op.issuer, clientId: 'dpop-cli', scope: 'openid',
        onCode: (p) => { approval = approve({ issuer: op.issuer, userCode: p.user_code }); },
      }).finally(() => approval).catch((e) => e);
      assert.ok(error instanceof DeviceFlowError && error.status === 400, String(error)); // invalid_grant here
    });
  });
}
