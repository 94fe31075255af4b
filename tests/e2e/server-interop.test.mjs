// Interop: deviceflow-server against a client no one here wrote (openid-client v6), with the
// person played by headless Chromium clicking through the real verification pages.
//   node --test tests/e2e/server-interop.test.mjs      (builds the server's `serve` example)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server;
let issuer;
let browser;

/** Builds and starts `cargo run --example serve` (interval 1 s); resolves once it printed its issuer. */
async function startServer() {
  const build = spawnSync('cargo', ['build', '-q', '-p', 'deviceflow-server', '--example', 'serve'],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  assert.equal(build.status, 0, 'cargo build of the serve example failed');
  const child = spawn('cargo', ['run', '-q', '-p', 'deviceflow-server', '--example', 'serve', '--', '0', '1'],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => {});
  const line = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server printed no issuer within 60 s')), 60_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(out.slice(0, out.indexOf('\n')).trim()); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited early (${code})`)); });
  });
  return { child, issuer: line };
}

before(async () => {
  ({ child: server, issuer } = await startServer());
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const gone = new Promise((resolve) => server.on('exit', resolve));
    server.stdin.end(); // the server exits when stdin closes
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
});

async function discover() {
  return client.discovery(new URL(issuer), 'deviceflow-cli', undefined, client.None(), {
    execute: [client.allowInsecureRequests],
  });
}

/** Plays the person: opens verification_uri_complete, signs in, checks the code, clicks. */
async function clickThrough(verificationUriComplete, userCode, button) {
  const page = await browser.newPage();
  try {
    await page.goto(verificationUriComplete);
    assert.equal(new URL(page.url()).search, '', 'the code was moved out of the URL');
    assert.equal(await page.inputValue('#user_code'), userCode, 'the form is prefilled');
    await page.fill('#username', 'alice');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(await page.textContent('#user-code'), userCode);
    assert.match(await page.textContent('main'), /Only continue if you started this sign-in yourself/);
    await Promise.all([page.waitForNavigation(), page.click(`button[value=${button}]`)]);
    return await page.getAttribute('main', 'data-outcome');
  } finally {
    await page.close();
  }
}

test('openid-client logs in through the Chromium-approved page, then refreshes', async () => {
  const config = await discover();
  assert.equal(config.serverMetadata().device_authorization_endpoint, `${issuer}/device_authorization`);
  const dar = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
  assert.match(dar.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(dar.interval, 1);
  const polling = client.pollDeviceAuthorizationGrant(config, dar);
  assert.equal(await clickThrough(dar.verification_uri_complete, dar.user_code, 'approve'), 'approved');
  const tokens = await polling;
  assert.ok(tokens.access_token);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'openid profile offline_access');
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'refresh tokens rotate');
  await client.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === 'invalid_grant');
});

test('a deny on the page reaches openid-client as access_denied', async () => {
  const config = await discover();
  const dar = await client.initiateDeviceAuthorization(config, { scope: 'profile' });
  const polling = client.pollDeviceAuthorizationGrant(config, dar);
  const settled = polling.then(() => null, (e) => e);
  assert.equal(await clickThrough(dar.verification_uri_complete, dar.user_code, 'deny'), 'denied');
  const err = await settled;
  assert.ok(err, 'polling must fail');
  assert.equal(err.error, 'access_denied');
});

// ---- The project's own clients against deviceflow-server, approved or denied in Chromium.

const PYTHON = `${ROOT}.venv/bin/python`;
const CLI = `${ROOT}target/debug/deviceflow`;
const PKG = `${ROOT}pkg/node/deviceflow_wasm.js`;
const noPkg = !existsSync(PKG) && `${PKG} is missing (the js suite builds it)`;

/**
 * Runs a client as a child process that prints its prompt as the first JSON line on stdout
 * and its outcome as the last; the person acts on the page in between. Resolves the outcome.
 */
async function childLogin(cmd, args, button, env = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no prompt within 30 s: ${err}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(JSON.parse(out.slice(0, out.indexOf('\n')))); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${code} before a prompt: ${err}`)); });
  });
  const outcome = await clickThrough(first.verification_uri_complete, first.user_code, button);
  const code = await exited;
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  return { first, outcome, last: lines.at(-1), code, out, err };
}

const pythonLogin = (scope) => [
  '-c',
  `import json, sys, deviceflow
def show(p):
    print(json.dumps({"user_code": p.user_code, "verification_uri_complete": p.verification_uri_complete}), flush=True)
try:
    t = deviceflow.login(issuer=sys.argv[1], client_id="deviceflow-cli", scope=sys.argv[2], on_code=show)
    print(json.dumps({"status": "done", "token_type": t.token_type, "scope": t.scope, "refresh": t.refresh_token is not None}))
except deviceflow.DeviceFlowError as e:
    print(json.dumps({"status": "error", "error": e.code}))`,
  issuer,
  scope,
];

test('the JS package logs in against deviceflow-server through the Chromium-approved page', { skip: noPkg }, async () => {
  const { login, refresh } = await import('../../pkg/node.mjs');
  let shown;
  const tokens = await login({
    issuer, clientId: 'deviceflow-cli', scope: 'openid profile offline_access',
    onCode: (p) => { shown = clickThrough(p.verification_uri_complete, p.user_code, 'approve'); },
  });
  assert.equal(await shown, 'approved');
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'openid profile offline_access');
  const renewed = await refresh({ issuer, clientId: 'deviceflow-cli', refreshToken: tokens.refresh_token });
  assert.notEqual(renewed.refresh_token, tokens.refresh_token);
});

test('the JS package sees a deny on the page as access_denied', { skip: noPkg }, async () => {
  const { login, AccessDeniedError } = await import('../../pkg/node.mjs');
  let shown;
  const err = await login({
    issuer, clientId: 'deviceflow-cli', scope: 'profile',
    onCode: (p) => { shown = clickThrough(p.verification_uri_complete, p.user_code, 'deny'); },
  }).catch((e) => e);
  assert.equal(await shown, 'denied');
  assert.ok(err instanceof AccessDeniedError, String(err));
  assert.equal(err.code, 'access_denied');
});

for (const [button, want] of [['approve', 'done'], ['deny', 'access_denied']]) {
  test(`the Python package against deviceflow-server: ${button} on the page`, { skip: !existsSync(PYTHON) && `${PYTHON} is missing (the python suite creates it)` }, async () => {
    const r = await childLogin(PYTHON, pythonLogin('openid offline_access'), button);
    assert.equal(r.outcome, button === 'approve' ? 'approved' : 'denied');
    assert.equal(r.code, 0, r.err);
    if (want === 'done') {
      assert.deepEqual(r.last, { status: 'done', token_type: 'Bearer', scope: 'openid offline_access', refresh: true });
    } else {
      assert.deepEqual(r.last, { status: 'error', error: 'access_denied' });
    }
  });

  test(`the CLI (--json) against deviceflow-server: ${button} on the page`, { skip: !existsSync(CLI) && `${CLI} is missing (cargo build -p deviceflow-cli)` }, async () => {
    const home = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/deviceflow-interop-`);
    const r = await childLogin(CLI, ['--json', 'login', '--issuer', issuer, '--client-id', 'deviceflow-cli',
      '--scope', 'openid offline_access', '--no-open', '--store', 'file'], button, { DEVICEFLOW_CONFIG_DIR: home });
    assert.equal(r.first.status, 'waiting_for_authorization');
    assert.equal(r.outcome, button === 'approve' ? 'approved' : 'denied');
    if (want === 'done') {
      assert.equal(r.code, 0, r.err);
      assert.equal(r.last.status, 'authenticated');
    } else {
      assert.notEqual(r.code, 0);
      assert.equal(r.last.status, 'error');
      assert.equal(r.last.error, 'access_denied');
    }
  });
}
