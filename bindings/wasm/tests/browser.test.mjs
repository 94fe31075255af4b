// The browser build (pkg/web/browser.min.js + the .wasm) in real headless Chromium (Debian's, driven by
// playwright-core): a page served from 127.0.0.1 imports the package and logs in against the
// real provider on another port (cross-origin, so CORS matters); the user approves via approve().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { extname, normalize, join } from 'node:path';
import { chromium } from '../../../tests/node_modules/playwright-core/index.mjs';
import { startProvider } from '../../../tests/e2e/harness.mjs';
import { approve } from '../../../tests/e2e/approve.mjs';

const PKG = fileURLToPath(new URL('../../../pkg/', import.meta.url));
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
// What a bundler or a browser resolves for `import 'deviceflow'` (the `browser` condition): the
// minified bundle. The readable entry (browser.js over src/ and the web glue) is loaded too:
// its src/binding.js reaches the hidden trap hook the bundle does not export.
const ENTRY = JSON.parse(await readFile(join(PKG, 'package.json'), 'utf8')).exports['.'].browser.replace(/^\.\//, '/pkg/');
const PAGE = `<!doctype html><meta charset="utf-8"><title>deviceflow</title>
<script type="module">
  import * as deviceflow from '${ENTRY}';
  import * as readable from '/pkg/browser.js';
  import { binding, instanceGeneration, wasmCall } from '/pkg/src/binding.js';
  window.deviceflow = deviceflow;
  window.readable = readable;
  window.trap = () => wasmCall(instanceGeneration(), () => binding().__trapForTests());
  window.loaded = true;
</script>`;

let op, nonceOp, site, browser, page;
const problems = [];

before(async () => {
  op = await startProvider({ DEVICE_INTERVAL: '1' });
  nonceOp = await startProvider({ DEVICE_INTERVAL: '1', DPOP_NONCE: '1' });
  site = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/favicon.ico') return res.writeHead(204).end();
    if (path === '/') return res.writeHead(200, { 'content-type': TYPES['.html'] }).end(PAGE);
    const file = normalize(join(PKG, path.replace(/^\/pkg\//, '')));
    if (!path.startsWith('/pkg/') || !file.startsWith(PKG)) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
    } catch {
      res.writeHead(404).end();
    }
  });
  site.listen(0, '127.0.0.1');
  await once(site, 'listening');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // Chromium logs every non-2xx fetch ("Failed to load resource"), e.g. each 400
  // authorization_pending; anything else at error level is a problem.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`http://127.0.0.1:${site.address().port}/`);
  await page.waitForFunction(() => window.loaded === true, null, { timeout: 15_000 });
});

after(async () => {
  await browser?.close();
  site?.closeAllConnections();
  site?.close();
  await op?.stop();
  await nonceOp?.stop();
});

/** Starts login() in the page; resolves the user code it shows and a getter for the outcome. */
async function startLogin(issuer, extra = '') {
  await page.evaluate(([issuer, extra]) => {
    const { login, TokenSet, DeviceFlowError } = window.deviceflow;
    window.code = null;
    window.controller = new AbortController();
    const options = { issuer, clientId: 'public-cli', scope: 'openid offline_access', signal: window.controller.signal, onCode: (p) => { window.code = p.user_code; } };
    if (extra === 'abort-in-wait') options.onCode = (p) => { window.code = p.user_code; setTimeout(() => window.controller.abort(new Error('closed')), 300); };
    window.outcome = login(options).then(
      (t) => ({ ok: true, isTokenSet: t instanceof TokenSet, tokenType: t.token_type, accessLength: t.access_token.length,
        hasRefresh: typeof t.refresh_token === 'string', text: String(t) + JSON.stringify(t), secrets: [t.access_token, t.refresh_token] }),
      (e) => ({ ok: false, isError: e instanceof Error, isDeviceFlowError: e instanceof DeviceFlowError, name: e.name, code: e.code, cause: String(e.cause) }),
    );
  }, [issuer, extra]);
  await page.waitForFunction(() => window.code !== null, null, { timeout: 15_000 });
  return page.evaluate(() => window.code);
}

test('the page loads the package from 127.0.0.1 and the wasm runs', async () => {
  const names = await page.evaluate(() => Object.keys(window.deviceflow).sort());
  for (const name of ['login', 'refresh', 'revoke', 'discover', 'DeviceFlow', 'TokenSet', 'AccessDeniedError']) assert.ok(names.includes(name), name);
  const url = await page.evaluate(() => new window.deviceflow.DeviceFlow({ clientId: 'c', issuer: 'https://as.example' }).pollAction().url);
  assert.equal(url, 'https://as.example/.well-known/openid-configuration');
});

test('the page loads the minified bundle (web/browser.min.js) as the browser entry', () => {
  assert.equal(ENTRY, '/pkg/web/browser.min.js');
});

test('a trap in the browser: InternalError, then a fresh instance runs the next flow', async () => {
  const out = await page.evaluate(() => {
    const { DeviceFlow, InternalError } = window.readable;
    const before = new DeviceFlow({ clientId: 'c', issuer: 'https://as.example' }, 0);
    before.pollAction(0);
    const caught = [];
    for (const call of [() => window.trap(), () => before.pollAction(1)]) {
      try { call(); caught.push('no error'); } catch (e) { caught.push(`${e instanceof InternalError} ${e.code} ${e.cause instanceof WebAssembly.RuntimeError}`); }
    }
    before.free();
    const after = new DeviceFlow({ clientId: 'c', issuer: 'https://as.example' }, 0);
    const url = after.pollAction(0).url;
    after.free();
    return { caught, url };
  });
  assert.deepEqual(out.caught, ['true internal_error true', 'true internal_error false']);
  assert.equal(out.url, 'https://as.example/.well-known/openid-configuration');
});

test('login in the browser, approved through the provider pages', async () => {
  const code = await startLogin(op.issuer);
  assert.match(code, /^[A-Z]{4}-[A-Z]{4}$/);
  assert.deepEqual(await approve({ issuer: op.issuer, userCode: code }), { ok: true, action: 'approved' });
  const outcome = await page.evaluate(() => window.outcome);
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  assert.equal(outcome.isTokenSet, true);
  assert.match(outcome.tokenType, /^bearer$/i);
  assert.ok(outcome.accessLength > 20 && outcome.hasRefresh);
  for (const secret of outcome.secrets) assert.ok(!outcome.text.includes(secret), 'redacted in the browser too');
});

test('denied in the browser: AccessDeniedError, a real Error with .code', async () => {
  const code = await startLogin(op.issuer);
  await approve({ issuer: op.issuer, userCode: code, deny: true });
  const outcome = await page.evaluate(() => window.outcome);
  assert.deepEqual(
    { ok: outcome.ok, isError: outcome.isError, isDeviceFlowError: outcome.isDeviceFlowError, name: outcome.name, code: outcome.code },
    { ok: false, isError: true, isDeviceFlowError: true, name: 'AccessDeniedError', code: 'access_denied' },
  );
});

test('AbortController in the browser cancels mid-wait', async () => {
  await startLogin(op.issuer, 'abort-in-wait');
  const outcome = await page.evaluate(() => window.outcome);
  assert.equal(outcome.code, 'cancelled');
  assert.equal(outcome.name, 'CancelledError');
  assert.equal(outcome.cause, 'Error: closed');
});

// DPoP (RFC 9449) with a WebCrypto key the page cannot export: login as `dpop-cli`, then the
// helper's headers at userinfo (cross-origin: the provider answers the preflight for DPoP).
for (const withNonce of [false, true]) {
  test(`DPoP login in the browser with a non-extractable key${withNonce ? ' (DPOP_NONCE=1)' : ''}`, async () => {
    const issuer = withNonce ? nonceOp.issuer : op.issuer;
    await page.evaluate((issuer) => {
      const { login, generateDpopKey, dpopFetch, dpopHeaders } = window.deviceflow;
      window.code = null;
      window.outcome = (async () => {
        const key = await generateDpopKey();
        const dpop = { key };
        const tokens = await login({ issuer, clientId: 'dpop-cli', scope: 'openid', dpop, onCode: (p) => { window.code = p.user_code; } });
        const me = await dpopFetch(`${issuer}/me`, { accessToken: tokens.access_token, key });
        const headers = await dpopHeaders({ url: `${issuer}/me`, accessToken: tokens.access_token, key, nonce: me.dpopNonce ?? undefined });
        const direct = await fetch(`${issuer}/me`, { headers });
        const bearer = await fetch(`${issuer}/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
        return {
          extractable: key.privateKey.extractable, tokenType: tokens.token_type, nonces: Object.keys(dpop.nonces),
          me: me.status, sub: (await me.json()).sub, direct: direct.status, bearer: bearer.status,
        };
      })().catch((e) => ({ error: `${e.name} ${e.code}: ${e.message}` }));
    }, issuer);
    await page.waitForFunction(() => window.code !== null, null, { timeout: 15_000 });
    const code = await page.evaluate(() => window.code);
    assert.deepEqual(await approve({ issuer, userCode: code }), { ok: true, action: 'approved' });
    const outcome = await page.evaluate(() => window.outcome);
    assert.equal(outcome.error, undefined, outcome.error);
    assert.equal(outcome.extractable, false, 'the private key cannot leave WebCrypto');
    assert.equal(outcome.tokenType, 'DPoP');
    assert.deepEqual(outcome.nonces, [issuer], 'the provider sends DPoP-Nonce even when not required');
    assert.deepEqual([outcome.me, outcome.sub, outcome.direct], [200, 'alice', 200]);
    assert.ok(outcome.bearer === 400 || outcome.bearer === 401, `Bearer: ${outcome.bearer}`);
  });
}

test('no script errors in the page', () => {
  assert.deepEqual(problems, []);
});
