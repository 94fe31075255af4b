// The TV example app (examples/tv/) end to end in headless Chromium, as `deviceflow demo --web`
// serves it: the TV page on one loopback origin, deviceflow-server on another (CORS), the person
// approving or denying on the real verification page in a second browser context (the phone).
// Asserts what the TV shows at each step, keyboard-only use, restart on denial and expiry, and
// keeps screenshots at 1280×720 and 3840×2160 in target/test-artefacts/tv/ (the code must stand
// at least 5 % of the screen height; the QR code in them must decode to the sign-in link).
//   node --test tests/e2e/tv.test.mjs     (builds the CLI, and the npm package if it is missing)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import jsQR from 'jsqr';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = `${ROOT}target/debug/deviceflow`;
const ARTEFACTS = `${ROOT}target/test-artefacts/tv`;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

// Chromium first: without it every test here is SKIPPED, loudly, and CI fails.
let browser = null;
let skip = false;
try {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
} catch (e) {
  skip = `Chromium cannot start: ${e.message.split('\n')[0]}`;
  console.log(`\n${'!'.repeat(72)}\n!! SKIPPED tests/e2e/tv.test.mjs: ${skip}\n${'!'.repeat(72)}\n`);
  if (process.env.CI === 'true') test('Chromium starts (required on CI)', () => assert.fail(skip));
}

/** `deviceflow --json demo --web …`; resolves its status line once the page is served. */
async function startDemo(extra) {
  const child = spawn(CLI, ['--json', 'demo', '--web', '--no-open', '--interval', '1', ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`demo --web printed nothing within 30 s: ${err}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(out.slice(0, out.indexOf('\n'))); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo --web exited early (${code}): ${err}`)); });
  });
  const status = JSON.parse(line);
  assert.equal(status.status, 'web_demo', line);
  return { child, ...status, stderr: () => err };
}

async function stopDemo(demo) {
  if (!demo || demo.child.exitCode !== null) return;
  const gone = once(demo.child, 'exit');
  demo.child.kill('SIGTERM'); // Ctrl-C's path: the demo stops its servers and exits
  const timer = setTimeout(() => demo.child.kill('SIGKILL'), 10_000);
  const [code] = await gone;
  clearTimeout(timer);
  assert.equal(code, 0, `demo --web exit status: ${demo.stderr()}`);
}

let demo;
let tv; // the TV's browser context and page
let tvPage;
let tool; // a blank page for decoding screenshots
let other; // a site on an origin the server does not allow
const problems = [];

before(async () => {
  if (skip) return;
  if (!existsSync(`${ROOT}pkg/web/deviceflow_wasm_bg.wasm`)) {
    const wasm = spawnSync('bash', ['bindings/wasm/build.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
    assert.equal(wasm.status, 0, 'bindings/wasm/build.sh failed');
    const pkg = spawnSync('node', ['pkg/build.mjs', wasm.stdout.trim().split('\n').at(-1)], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(pkg.status, 0, 'pkg/build.mjs failed');
  }
  const build = spawnSync('cargo', ['build', '-q', '-p', 'deviceflow-cli'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  assert.equal(build.status, 0, 'cargo build -p deviceflow-cli failed');
  mkdirSync(ARTEFACTS, { recursive: true });
  demo = await startDemo([]);
  tv = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  tvPage = await tv.newPage();
  tvPage.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // Chromium logs every non-2xx fetch (each authorization_pending is a 400); anything else counts.
  tvPage.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
  });
  tool = await browser.newPage();
  other = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>other</title>'));
  other.listen(0, '127.0.0.1');
  await once(other, 'listening');
});

after(async () => {
  await browser?.close();
  other?.close();
  await stopDemo(demo);
});

// ---------------------------------------------------------------- helpers

const state = (page) => page.getAttribute('main', 'data-state');
const text = (page, sel) => page.textContent(sel).then((t) => t.trim());

/** Waits until the TV shows a code other than `previous`; returns it. */
async function waitForCode(page, previous = null) {
  await page.waitForFunction((prev) => {
    const code = document.getElementById('user-code')?.textContent;
    return document.querySelector('main').dataset.state === 'code' && code && code !== prev;
  }, previous, { timeout: 30_000 });
  return text(page, '#user-code');
}

/** The PNG's width and height, from its IHDR chunk. */
function pngSize(path) {
  const b = readFileSync(path);
  assert.equal(b.toString('latin1', 1, 4), 'PNG');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Decodes the QR code in a PNG (pixels read by Chromium's canvas, decoded by jsQR). */
async function decodeQr(png) {
  const { w, h, rgba } = await tool.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const scale = Math.min(1, 800 / Math.max(bmp.width, bmp.height));
    const [w, h] = [Math.round(bmp.width * scale), Math.round(bmp.height * scale)];
    const ctx = new OffscreenCanvas(w, h).getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(bmp, 0, 0, w, h);
    const data = ctx.getImageData(0, 0, w, h).data;
    let s = '';
    for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { w, h, rgba: btoa(s) };
  }, png.toString('base64'));
  return jsQR(new Uint8ClampedArray(Buffer.from(rgba, 'base64')), w, h)?.data ?? null;
}

/** Screenshot of the whole TV page at its current size, kept as an artefact; checks legibility. */
async function screenshotAt(width, height, name) {
  await tvPage.setViewportSize({ width, height });
  await tvPage.waitForFunction(([w, h]) => innerWidth === w && innerHeight === h, [width, height]);
  const path = `${ARTEFACTS}/${name}-${width}x${height}.png`;
  await tvPage.screenshot({ path });
  assert.deepEqual(pngSize(path), { width, height }, path);
  return path;
}

/** The person on the phone: a fresh browser context on the verification link, signs in, decides. */
async function onThePhone(link, userCode, button, name = 'alice') {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  try {
    const page = await phone.newPage();
    await page.goto(link);
    assert.equal(await page.inputValue('#user_code'), userCode, 'the QR link prefills the code');
    await page.fill('#username', name);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(await text(page, '#user-code'), userCode);
    await Promise.all([page.waitForNavigation(), page.click(`button[value=${button}]`)]);
    return await page.getAttribute('main', 'data-outcome');
  } finally {
    await phone.close();
  }
}

// ---------------------------------------------------------------- the tests

let code;
let link;

test('the TV shows a large code, a QR code of verification_uri_complete and a countdown', { skip }, async () => {
  await tvPage.goto(demo.app);
  assert.notEqual(new URL(demo.app).origin, new URL(demo.issuer).origin, 'two origins: CORS is exercised');
  code = await waitForCode(tvPage);
  assert.match(code, CODE);
  assert.equal(await text(tvPage, '#verification-uri'), demo.verification_uri);
  assert.equal(await text(tvPage, '#verification-host'), new URL(demo.issuer).hostname);
  assert.match(await text(tvPage, '#countdown'), /^Code expires in (9|10):\d\d$/);
  assert.match(await text(tvPage, '#code-view'), /Open on your phone/);
  assert.equal(await tvPage.evaluate(() => document.activeElement.id), 'new-code', 'focus starts on a button');

  for (const [w, h] of [[1280, 720], [3840, 2160]]) {
    const path = await screenshotAt(w, h, 'code');
    const box = await tvPage.locator('#user-code').boundingBox();
    console.log(`# ${path}: code box ${box.width.toFixed(0)}×${box.height.toFixed(0)} px = ${(100 * box.height / h).toFixed(1)} % of the height`);
    assert.ok(box.height >= 0.05 * h, `the code is ${box.height}px high at ${w}×${h}: under 5 % of the screen`);
    assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= w && box.y + box.height <= h, 'the code is on screen');
    const qr = await tvPage.locator('#qr').boundingBox();
    assert.ok(qr.height >= 0.3 * h, `the QR code is ${qr.height}px high at ${w}×${h}`);
    const decoded = await decodeQr(await tvPage.screenshot({ clip: qr }));
    assert.ok(decoded, `no QR code found in ${path}`);
    assert.equal(new URL(decoded).origin + new URL(decoded).pathname, demo.verification_uri);
    assert.equal(new URL(decoded).searchParams.get('user_code'), code);
    link = decoded;
  }
  await tvPage.setViewportSize({ width: 1280, height: 720 });
});

test('approved on the phone: the TV greets the user by the name /userinfo gives', { skip }, async () => {
  assert.equal(await onThePhone(link, code, 'approve', 'alice'), 'approved');
  await tvPage.waitForFunction(() => document.querySelector('main').dataset.state === 'signed-in', null, { timeout: 20_000 });
  assert.equal(await text(tvPage, '#user-name'), 'alice');
  assert.match(await text(tvPage, '#token-expiry'), /\d/);
  assert.match(await text(tvPage, '#storage-note'), /stays signed in/);
  const stored = await tvPage.evaluate(() => localStorage.getItem('deviceflow-tv/tokens'));
  const { access_token: access } = JSON.parse(stored);
  assert.ok(access.length > 20);
  assert.ok(!(await tvPage.textContent('body')).includes(access), 'no token on screen');
  await screenshotAt(1280, 720, 'signed-in');
  await screenshotAt(3840, 2160, 'signed-in');
  await tvPage.setViewportSize({ width: 1280, height: 720 });

  // The page's origin storage keeps the sign-in across a restart of the app.
  await tvPage.reload();
  await tvPage.waitForFunction(() => document.querySelector('main').dataset.state === 'signed-in', null, { timeout: 20_000 });
  assert.equal(await text(tvPage, '#user-name'), 'alice');
});

test('the server answers the TV origin by CORS and no other origin', { skip }, async () => {
  const probe = (page) => page.evaluate((issuer) => fetch(`${issuer}/.well-known/openid-configuration`)
    .then((r) => r.json()).then((m) => m.issuer, () => 'blocked'), demo.issuer);
  assert.equal(await probe(tvPage), demo.issuer);
  const stranger = await browser.newPage();
  try {
    await stranger.goto(`http://127.0.0.1:${other.address().port}/`);
    assert.equal(await probe(stranger), 'blocked');
  } finally {
    await stranger.close();
  }
});

test('remote control only: arrows move a visible focus, Enter signs out and revokes', { skip }, async () => {
  const tokensNow = async () => JSON.parse(await tvPage.evaluate(() => localStorage.getItem('deviceflow-tv/tokens')));
  const focused = () => tvPage.evaluate(() => document.activeElement.id);
  assert.equal(await focused(), 'refresh', 'the harmless button has the focus first');
  const before = await tokensNow();
  await tvPage.keyboard.press('Enter');
  await tvPage.waitForFunction(() => document.getElementById('notice').textContent === 'Refreshed.', null, { timeout: 15_000 });
  const stored = await tokensNow();
  assert.notEqual(stored.refresh_token, before.refresh_token, 'Enter on "Refresh now" refreshed (and rotated)');
  assert.equal(await focused(), 'refresh', 'the focus stays where it was');
  await tvPage.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'sign-out');
  const ring = await tvPage.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  assert.equal(ring.style, 'solid', 'the focus is visible');
  assert.ok(ring.width >= 2, `focus ring ${ring.width}px`);
  await tvPage.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'sign-out', 'the last button keeps the focus');
  await tvPage.keyboard.press('ArrowLeft');
  assert.equal(await focused(), 'refresh');
  await tvPage.keyboard.press('ArrowDown');
  assert.equal(await focused(), 'sign-out');
  await screenshotAt(1280, 720, 'signed-in-focus');

  await tvPage.keyboard.press('Enter');
  const next = await waitForCode(tvPage, code);
  assert.match(next, CODE);
  assert.equal(await text(tvPage, '#notice'), 'Signed out.');
  assert.equal(await tvPage.evaluate(() => localStorage.getItem('deviceflow-tv/tokens')), null);
  const me = await fetch(`${demo.issuer}/userinfo`, { headers: { authorization: `Bearer ${stored.access_token}` } });
  assert.equal(me.status, 401, 'the access token was revoked');
  code = next;
});

test('denied on the phone: the TV says so and shows a new code', { skip }, async () => {
  const uri = await tvPage.getAttribute('#qr', 'data-uri');
  assert.equal(new URL(uri).searchParams.get('user_code'), code);
  assert.equal(await onThePhone(uri, code, 'deny'), 'denied');
  const fresh = await waitForCode(tvPage, code);
  assert.match(fresh, CODE);
  assert.match(await text(tvPage, '#notice'), /declined on the phone/);
  assert.equal(await tvPage.evaluate(() => document.activeElement.id), 'new-code');
});

test('an expired code is replaced by a new one', { skip }, async () => {
  const short = await startDemo(['--code-ttl', '6']);
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  try {
    const page = await context.newPage();
    await page.goto(short.app);
    const first = await waitForCode(page);
    assert.match(await text(page, '#countdown'), /^Code expires in 0:0[1-6]$/);
    const second = await waitForCode(page, first);
    assert.match(second, CODE);
    assert.match(await text(page, '#notice'), /expired/);
    assert.equal(await state(page), 'code');
  } finally {
    await context.close();
    await stopDemo(short);
  }
});

test('no script errors on the TV page', { skip }, () => {
  assert.deepEqual(problems, []);
  writeFileSync(`${ARTEFACTS}/README.txt`, 'Screenshots of examples/tv by tests/e2e/tv.test.mjs (headless Chromium).\n');
});
