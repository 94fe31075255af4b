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
