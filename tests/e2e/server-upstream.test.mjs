// deviceflow-server as a device-flow front for an OpenID provider that has none of its own:
// `deviceflow serve --upstream-issuer … --upstream-client-id …` signs people in through
// node-oidc-provider (authorization code flow, PKCE, state, nonce), and headless Chromium walks
// through both sites' real pages: our page → the provider's login and consent → back to our
// page, signed in → code → approve. The device's poll then gets tokens for the upstream user.
//   node --test tests/e2e/server-upstream.test.mjs      (builds the CLI: cargo build -p deviceflow-cli)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startProvider, postForm, DEVICE_GRANT } from './harness.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = `${ROOT}target/debug/deviceflow`;
const CHROMIUM = '/usr/bin/chromium';
// Nothing but loopback: the provider's pages link a web font, which must not be fetched.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];
const CLIENT_ID = 'deviceflow-front';
const CLIENT_SECRET = 'front-secret-not-a-real-one';

let op;
let server;
let issuer;
let browser;

/** A free port on 127.0.0.1 (bound, then released). */
async function freePort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** `deviceflow --json serve …` on `port`; resolves once it printed its status line. */
async function startServe(port, upstream) {
  const child = spawn(CLI, ['--json', 'serve', '--port', String(port), '--interval', '1',
    '--upstream-issuer', upstream, '--upstream-client-id', CLIENT_ID], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DEVICEFLOW_UPSTREAM_CLIENT_SECRET: CLIENT_SECRET },
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve printed nothing within 30 s: ${err}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(out.slice(0, out.indexOf('\n'))); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited early (${code}): ${err}`)); });
  });
  const status = JSON.parse(line);
  assert.equal(status.status, 'serving');
  return { child, issuer: status.issuer, stderr: () => err };
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  const build = spawnSync('cargo', ['build', '-q', '-p', 'deviceflow-cli'],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  assert.equal(build.status, 0, 'cargo build -p deviceflow-cli failed');
  // The provider must know our redirect URI, and we its issuer: our port is chosen first.
  const port = await freePort();
  op = await startProvider({
    CODE_CLIENT_ID: CLIENT_ID,
    CODE_CLIENT_SECRET: CLIENT_SECRET,
    CODE_CLIENT_REDIRECT_URI: `http://127.0.0.1:${port}/device/callback`,
  });
  server = await startServe(port, op.issuer);
  issuer = server.issuer;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  if (server?.child.exitCode === null) {
    const gone = new Promise((resolve) => server.child.on('exit', resolve));
    server.child.kill('SIGINT'); // as Ctrl-C
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
  await op?.stop();
});

/** A fresh browser profile that can reach 127.0.0.1 only. */
async function newPage() {
  const context = await browser.newContext();
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1'
    ? route.continue() : route.abort()));
  return { context, page: await context.newPage() };
}

/** On the provider's pages (devInteractions): log in as `username`, then consent. */
async function providerLoginAndConsent(page, username, { consentClick } = {}) {
  await page.waitForSelector('input[name=login]');
  assert.equal(new URL(page.url()).origin, op.issuer, 'the login is the provider\'s page');
  await page.fill('input[name=login]', username);
  await page.fill('input[name=password]', 'any-password');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
  assert.match(await page.textContent('body'), new RegExp(CLIENT_ID));
  await (consentClick ?? (() => Promise.all([page.waitForURL(`${issuer}/device`), page.click('button[type=submit]')])))();
}

/** The device's side: device authorization, then a token poll until tokens (or an error). */
async function deviceAuthorization() {
  const r = await postForm(`${issuer}/device_authorization`, { client_id: 'deviceflow-cli', scope: 'openid profile' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function pollTokens(dar) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, dar.interval * 1000));
    const r = await postForm(`${issuer}/token`, { grant_type: DEVICE_GRANT, client_id: 'deviceflow-cli', device_code: dar.device_code });
    if (r.status === 200) return r.body;
    if (r.body?.error !== 'authorization_pending') throw new Error(`token poll: ${JSON.stringify(r.body)}`);
  }
  throw new Error('no tokens within 60 s');
}

test('a person signs in at the upstream provider, approves on our page, and the device gets their tokens', async () => {
  const dar = await deviceAuthorization();
  const polling = pollTokens(dar);
  polling.catch(() => {}); // awaited below
  const { context, page } = await newPage();
  try {
    // Our page sends the browser to the provider before any code entry.
    await page.goto(dar.verification_uri_complete);
    await providerLoginAndConsent(page, 'upstream-alice');
    // Back on our page, signed in as the provider's user, the code still prefilled.
    assert.equal(page.url(), `${issuer}/device`);
    assert.match(await page.textContent('#signed-in'), /Signed in as upstream-alice/);
    assert.equal(await page.$('#username'), null, 'no name box');
    assert.equal(await page.inputValue('#user_code'), dar.user_code);
    await Promise.all([page.waitForNavigation(), page.click('#continue')]);
    assert.equal(await page.textContent('#user-code'), dar.user_code);
    assert.match(await page.textContent('main'), /Signed in as\s*upstream-alice, not you\?/);
    await Promise.all([page.waitForNavigation(), page.click('button[value=approve]')]);
    assert.equal(await page.getAttribute('main', 'data-outcome'), 'approved');
  } finally {
    await context.close();
  }
  const tokens = await polling;
  assert.ok(tokens.access_token);
  const me = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).sub, 'upstream-alice', 'the tokens are the upstream user\'s');
  assert.ok(!server.stderr().includes(CLIENT_SECRET), 'the client secret is never printed');
});

test('a tampered state on the way back is refused; the genuine answer still signs in', async () => {
  const { context, page } = await newPage();
  try {
    // Our redirect to the provider carries `state`; the test changes it on its way there, so the
    // provider sends the browser back with a state this browser's session never issued.
    let state;
    const toSignIn = (url) => url.href === `${issuer}/device/signin`;
    await context.route(toSignIn, async (route) => {
      const resp = await route.fetch({ maxRedirects: 0 });
      const location = new URL(resp.headers().location);
      state = location.searchParams.get('state');
      location.searchParams.set('state', `${state}x`);
      await route.fulfill({ response: resp, headers: { ...resp.headers(), location: location.toString() } });
    });
    await page.goto(`${issuer}/device/signin`);
    await providerLoginAndConsent(page, 'upstream-bob', {
      consentClick: () => Promise.all([page.waitForURL(/\/device\/callback\?/), page.click('button[type=submit]')]),
    });
    await context.unroute(toSignIn);
    const back = new URL(page.url());
    assert.equal(back.searchParams.get('state'), `${state}x`);
    assert.ok(back.searchParams.get('code'), 'the provider issued a code');
    assert.match(await page.textContent('main'), /could not be verified/);
    assert.equal(await page.getAttribute('main', 'data-outcome'), 'sign-in-failed');
    // This browser is still signed in to nobody here: the page would start a sign-in.
    const stillOut = await context.request.get(`${issuer}/device`, { maxRedirects: 0 });
    assert.equal(stillOut.status(), 303);
    assert.equal(stillOut.headers().location, '/device/signin');
    // The same code with the state this session did issue: refused nothing it should not have.
    back.searchParams.set('state', state);
    await page.goto(back.toString());
    assert.equal(page.url(), `${issuer}/device`);
    assert.match(await page.textContent('#signed-in'), /Signed in as upstream-bob/);
  } finally {
    await context.close();
  }
});
