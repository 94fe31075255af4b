// `deviceflow mcp` driven by the official MCP TypeScript SDK (@modelcontextprotocol/sdk) over stdio,
// signing in against `deviceflow serve` with the person played by headless Chromium on the real
// verification page.
//   node --test tests/e2e/mcp.test.mjs     (needs target/debug/deviceflow: cargo build -p deviceflow-cli)
// MCP_TRANSCRIPT=FILE writes the JSON-RPC messages (tokens redacted) to FILE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, ElicitationCompleteNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { chromium } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'target/debug/deviceflow');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCOPE = 'openid profile offline_access';

let work;
let server;
let issuer;
let browser;
const transcript = [];
const secrets = new Set(); // every token seen, for redaction and for the leak checks

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing (cargo build -p deviceflow-cli)`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing (apt-get install chromium)`);
  work = mkdtempSync(join(tmpdir(), 'deviceflow-mcp-'));
  server = spawn(CLI, ['--json', 'serve', '--port', '0', '--interval', '1', '--dev-sign-in'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVICEFLOW_CONFIG_DIR: join(work, 'serve') } });
  server.stderr.resume();
  const first = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('deviceflow serve printed nothing within 30 s')), 30_000);
    server.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(JSON.parse(out.slice(0, out.indexOf('\n')))); }
    });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`deviceflow serve exited (${code})`)); });
  });
  assert.equal(first.status, 'serving');
  issuer = first.issuer;
  // The operator's configuration: the only place profiles, servers and scopes come from.
  writeFileSync(join(work, 'mcp.toml'), [
    '[profiles.agent]', `issuer = "${issuer}"`, 'client_id = "deviceflow-cli"', `scope = "${SCOPE}"`, 'store = "file"', '',
  ].join('\n'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const gone = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGINT');
    await gone;
  }
  if (process.env.MCP_TRANSCRIPT) {
    writeFileSync(process.env.MCP_TRANSCRIPT, transcript.map(([who, dir, m]) => `${who} ${dir} ${redact(m)}\n`).join(''));
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The JSON of a message with every known token replaced. */
function redact(message) {
  let text = JSON.stringify(message);
  for (const s of secrets) text = text.split(s).join('<redacted>');
  return text.replace(/("access_token\\?":\\?")[^"\\]+/g, '$1<redacted>');
}

/** An SDK client on a fresh `deviceflow mcp`; every JSON-RPC message goes to the transcript. */
async function connect(label, { elicitation, extraArgs = [] }) {
  const transport = new StdioClientTransport({
    command: CLI,
    args: ['mcp', '--config', join(work, 'mcp.toml'), ...extraArgs],
    env: { DEVICEFLOW_CONFIG_DIR: join(work, 'config') },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const log = (dir, m) => transcript.push([label, dir, structuredClone(m)]);
  const send = transport.send.bind(transport);
  transport.send = (m, o) => { log('->', m); return send(m, o); };
  let handler;
  Object.defineProperty(transport, 'onmessage', {
    get: () => handler && ((m, extra) => { log('<-', m); handler(m, extra); }),
    set: (h) => { handler = h; },
  });
  const client = new Client({ name: 'deviceflow-mcp-test', version: '1.0.0' },
    { capabilities: elicitation ? { elicitation: { url: {} } } : {} });
  const elicited = [];
  const completed = [];
  let onElicit = () => {};
  if (elicitation) {
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      elicited.push(req.params);
      onElicit(req.params);
      return { action: 'accept' }; // the person agreed to open the link
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => { completed.push(n.params); });
  }
  await client.connect(transport);
  const nextElicitation = () => (elicited.length ? Promise.resolve(elicited[0]) : new Promise((r) => { onElicit = r; }));
  return { client, elicited, completed, nextElicitation, stderr: () => stderr };
}

async function call(client, name, args = {}) {
  const r = await client.callTool({ name, arguments: args });
  return { ...r, value: r.structuredContent ?? JSON.parse(r.content[0].text) };
}

/** Plays the person: opens the link, signs in (dev sign-in), checks the code, clicks. */
async function clickThrough(url, userCode, button) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    assert.equal(await page.inputValue('#user_code'), userCode, 'the form is prefilled');
    await page.fill('#username', 'alice');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(await page.textContent('#user-code'), userCode);
    await Promise.all([page.waitForNavigation(), page.click(`button[value=${button}]`)]);
    return await page.getAttribute('main', 'data-outcome');
  } finally {
    await page.close();
  }
}

const stored = () => JSON.parse(readFileSync(join(work, 'config/profiles/agent.json'), 'utf8'));
const userinfo = (token) => fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });

test('an MCP client signs in through URL elicitation, gets tokens, is refused elsewhere, logs out', async () => {
  const { client, elicited, completed, nextElicitation, stderr } = await connect('A', { elicitation: true });
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(tools, ['get_access_token', 'list_profiles', 'logout', 'start_login', 'wait_for_login']);

    let r = await call(client, 'list_profiles');
    assert.equal(r.value.profiles.length, 1);
    assert.equal(r.value.profiles[0].state, 'logged_out');
    assert.equal(r.value.profiles[0].server, issuer);

    r = await call(client, 'get_access_token', { profile: 'agent' });
    assert.equal(r.isError, true);
    assert.equal(r.value.error, 'login_required');

    // start_login answers at once with the code; the link also goes out by URL elicitation.
    const started = Date.now();
    r = await call(client, 'start_login', { profile: 'agent' });
    assert.ok(Date.now() - started < 10_000, 'start_login does not wait for the person');
    assert.equal(r.isError, false);
    const login = r.value;
    assert.equal(login.status, 'waiting_for_authorization');
    assert.equal(login.verification_uri, `${issuer}/device`);
    assert.equal(login.verification_host, '127.0.0.1');
    assert.equal(login.host_matches_server, true);
    assert.match(login.user_code, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.equal(login.elicitation, 'url');
    assert.match(login.instruction, new RegExp(login.user_code));
    const e = await nextElicitation();
    assert.equal(e.mode, 'url');
    assert.equal(e.url, login.verification_uri_complete);
    assert.match(e.message, new RegExp(`code ${login.user_code}`));
    assert.ok(e.elicitationId);

    r = await call(client, 'start_login', { profile: 'agent' });
    assert.equal(r.value.already_started, true);
    assert.equal(r.value.user_code, login.user_code, 'a second call returns the same code');
    assert.equal(elicited.length, 1, 'and sends no second link');

    r = await call(client, 'wait_for_login', { profile: 'agent', timeout_s: 0 });
    assert.equal(r.value.status, 'waiting_for_authorization');

    // The person opens the elicited link and approves on the real page.
    assert.equal(await clickThrough(e.url, login.user_code, 'approve'), 'approved');
    r = await call(client, 'wait_for_login', { profile: 'agent', timeout_s: 30 });
    assert.equal(r.value.status, 'authenticated', JSON.stringify(r.value));
    assert.equal(r.value.scope, SCOPE);
    for (let i = 0; i < 50 && !completed.length; i += 1) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(completed.map((c) => c.elicitationId), [e.elicitationId], 'notifications/elicitation/complete');

    const file = stored();
    const refresh1 = file.secrets.tokens.refresh_token;
    assert.ok(refresh1, 'the refresh token is stored (and only there)');
    secrets.add(refresh1);

    r = await call(client, 'get_access_token', { profile: 'agent' });
    assert.equal(r.isError, false);
    const token1 = r.value.access_token;
    secrets.add(token1);
    assert.equal(token1, file.secrets.tokens.access_token);
    assert.equal(r.value.token_type, 'Bearer');
    assert.ok(r.value.expires_in > 60);
    assert.deepEqual(Object.keys(r.value).sort(), ['access_token', 'expires_at', 'expires_in', 'profile', 'scope', 'token_type']);
    let who = await userinfo(token1);
    assert.equal(who.status, 200);
    assert.equal((await who.json()).sub, 'alice');

    // min_valid_s beyond the token's life: refreshed (under the profile lock), rotated, stored.
    r = await call(client, 'get_access_token', { profile: 'agent', min_valid_s: 3600 });
    const token2 = r.value.access_token;
    secrets.add(token2);
    assert.notEqual(token2, token1, 'refreshed');
    const refresh2 = stored().secrets.tokens.refresh_token;
    secrets.add(refresh2);
    assert.notEqual(refresh2, refresh1, 'the rotated refresh token was stored');
    assert.equal((await userinfo(token2)).status, 200);

    // Only what the operator configured.
    for (const [tool, args] of [['get_access_token', { profile: 'other' }], ['start_login', { profile: 'other' }],
      ['logout', { profile: 'other' }], ['wait_for_login', { profile: 'other' }]]) {
      r = await call(client, tool, args);
      assert.equal(r.isError, true, `${tool} other`);
      assert.equal(r.value.error, 'not_configured');
      assert.match(r.value.message, /not configured for this MCP server \(configured: agent\)/);
    }
    r = await client.callTool({ name: 'start_login', arguments: { profile: 'agent', issuer: 'https://evil.example' } });
    assert.equal(r.isError, true, 'no issuer argument');
    assert.match(r.content[0].text, /unknown field `issuer`/);
    r = await client.callTool({ name: 'get_access_token', arguments: { profile: 'agent', scope: 'admin' } });
    assert.equal(r.isError, true, 'no scope argument');

    r = await call(client, 'list_profiles');
    const row = r.value.profiles[0];
    assert.equal(row.state, 'logged_in');
    assert.equal(row.refreshable, true);
    assert.ok('account' in row && 'expires_at' in row);

    r = await call(client, 'logout', { profile: 'agent' });
    assert.deepEqual(r.value, { status: 'logged_out', profile: 'agent', was_logged_in: true, revoked: true });
    assert.equal((await userinfo(token2)).status, 401, 'revoked at the server');
    assert.equal(existsSync(join(work, 'config/profiles/agent.json')), false, 'deleted here');
    r = await call(client, 'get_access_token', { profile: 'agent' });
    assert.equal(r.value.error, 'login_required');
  } finally {
    await client.close();
  }
  // No refresh token anywhere in the protocol; access tokens only in get_access_token results.
  const raw = transcript.filter(([who]) => who === 'A').map(([, , m]) => JSON.stringify(m)).join('\n');
  assert.ok(!raw.includes('refresh_token'), 'no refresh_token field in any message');
  const tokenCalls = new Set(transcript.filter(([who, dir, m]) => who === 'A' && dir === '->'
    && m.params?.name === 'get_access_token').map(([, , m]) => m.id));
  for (const [who, dir, m] of transcript) {
    const text = JSON.stringify(m);
    if ([...secrets].some((s) => text.includes(s))) {
      assert.ok(who === 'A' && dir === '<-' && tokenCalls.has(m.id), `a token outside get_access_token: ${dir} ${m.method ?? m.id}`);
    }
  }
  for (const s of secrets) assert.ok(!stderr().includes(s), 'no token on stderr');
  assert.match(stderr(), /Only enter this code at 127\.0\.0\.1/);
});

test('without elicitation the code is in the result; a denial on the page ends the sign-in', async () => {
  const { client } = await connect('B', { elicitation: false });
  try {
    let r = await call(client, 'start_login', {}); // the only profile: the name may be left out
    assert.equal(r.value.elicitation, 'none');
    assert.equal(r.value.profile, 'agent');
    assert.equal(await clickThrough(r.value.verification_uri_complete, r.value.user_code, 'deny'), 'denied');
    r = await call(client, 'wait_for_login', { timeout_s: 30 });
    assert.equal(r.isError, true);
    assert.equal(r.value.error, 'access_denied');
    r = await call(client, 'get_access_token', {});
    assert.equal(r.value.error, 'login_required');
  } finally {
    await client.close();
  }
});

/** `deviceflow --json login` as the operator would run it, approved on the page. */
async function cliLogin(profile, scope) {
  const child = spawn(CLI, ['--json', 'login', '--profile', profile, '--issuer', issuer, '--client-id', 'deviceflow-cli',
    '--scope', scope, '--no-open', '--store', 'file'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEVICEFLOW_CONFIG_DIR: join(work, 'config') } });
  child.stderr.resume();
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const first = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.on('exit', (code) => reject(new Error(`login exited ${code} before a prompt`)));
  });
  assert.equal(await clickThrough(first.verification_uri_complete, first.user_code, 'approve'), 'approved');
  assert.equal(await exited, 0);
}

test('--allow offers a saved login; a login made elsewhere under a configured name is not handed out', async () => {
  await cliLogin('saved', 'openid offline_access');
  // The same name as the configured profile, but other scopes than the operator configured.
  const other = JSON.parse(readFileSync(join(work, 'config/profiles/saved.json'), 'utf8'));
  other.profile.name = 'agent';
  writeFileSync(join(work, 'config/profiles/agent.json'), JSON.stringify(other), { mode: 0o600 });
  const { client } = await connect('C', { elicitation: false, extraArgs: ['--allow', 'saved'] });
  try {
    let r = await call(client, 'list_profiles');
    const rows = Object.fromEntries(r.value.profiles.map((p) => [p.profile, p]));
    assert.equal(rows.agent.state, 'mismatch');
    assert.equal(rows.saved.state, 'logged_in');
    assert.equal(rows.saved.source, 'saved');
    assert.equal(rows.saved.scope, 'openid offline_access');

    r = await call(client, 'get_access_token', { profile: 'agent' });
    assert.equal(r.isError, true);
    assert.equal(r.value.error, 'profile_mismatch');
    assert.match(r.value.message, /another scope/);
    r = await call(client, 'logout', { profile: 'agent' });
    assert.equal(r.value.error, 'profile_mismatch', 'nor logged out');

    r = await call(client, 'get_access_token', { profile: 'saved' });
    assert.equal(r.isError, false);
    secrets.add(r.value.access_token);
    assert.equal((await userinfo(r.value.access_token)).status, 200);
    r = await call(client, 'start_login', {});
    assert.equal(r.value.error, 'invalid_input', 'two profiles: the name is needed');
    r = await call(client, 'logout', { profile: 'saved' });
    assert.equal(r.value.revoked, true);
  } finally {
    await client.close();
  }
});
