// The JS surface: error classes and codes, config handling, and redaction of every secret
// in toString / JSON.stringify / util.inspect / util.format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect, format } from 'node:util';
import { createRequire } from 'node:module';
import * as df from '../../../pkg/node.mjs';

const raw = createRequire(import.meta.url)('../../../pkg/node/deviceflow_wasm.js');

const CLIENT_SECRET = 'cs-SECRET-1';
const DEVICE_CODE = 'dc-SECRET-2';
const TOKENS = { access_token: 'at-SECRET-3', refresh_token: 'rt-SECRET-4', id_token: 'e30.eyJzdWIiOiJ4In0.SECRET-5' };
const SECRETS = [CLIENT_SECRET, DEVICE_CODE, ...Object.values(TOKENS), Buffer.from(`c:${CLIENT_SECRET}`).toString('base64')];

/** Every way a value ends up in a log line. */
function renderings(value) {
  return [
    String(value), `${value}`, JSON.stringify(value), JSON.stringify({ value }), inspect(value),
    inspect(value, { depth: Infinity, showHidden: true }), inspect(value, { customInspect: false, showHidden: true }),
    format('%s %o %O %j', value, value, value, value), inspect([value]),
  ];
}

function assertRedacted(value) {
  for (const text of renderings(value)) {
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked in: ${text}`);
  }
}

test('every FlowError code of the core has an Error subclass with that .code', () => {
  const codes = JSON.parse(raw.errorCodes());
  assert.ok(codes.length >= 13);
  const classes = Object.values(df).filter((v) => typeof v === 'function' && v.prototype instanceof df.DeviceFlowError);
  for (const code of codes) {
    const Cls = classes.find((c) => c.code === code);
    assert.ok(Cls, `no class for ${code}`);
    const e = new Cls('m');
    assert.ok(e instanceof Error && e instanceof df.DeviceFlowError);
    assert.equal(e.code, code);
    assert.equal(e.name, Cls.name);
    assert.match(e.stack, new RegExp(Cls.name));
  }
  assert.equal(new df.ConfigError('x').code, 'invalid_config');
});

test('a failed action carries a real Error subclass with the server fields', () => {
  const flow = new df.DeviceFlow({ clientId: 'c', deviceAuthorizationEndpoint: 'https://as.example/d', tokenEndpoint: 'https://as.example/t' }, 0);
  const send = flow.pollAction(0);
  flow.handleResponse(send.id, { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_scope","error_description":"nope"}' }, 5);
  const failed = flow.pollAction(5);
  assert.equal(failed.type, 'failed');
  assert.ok(failed.error instanceof df.InvalidScopeError);
  assert.equal(failed.error.code, 'invalid_scope');
  assert.equal(failed.error.error_description, 'nope');
  assert.equal(failed.error.status, 400);
  assert.deepEqual(Object.keys(failed.error.toJSON()), ['name', 'code', 'message', 'error', 'error_description', 'error_uri', 'status']);
});

test('bad configurations throw ConfigError (never a string), camelCase and snake_case both accepted', () => {
  for (const bad of [{}, { clientId: 'c' }, { clientId: 'c', issuer: 'http://evil.example' }, { clientId: 'c', issuer: 'https://a.example', clientAuth: 'client_secret_post' }, null]) {
    assert.throws(() => new df.DeviceFlow(bad), (e) => e instanceof df.ConfigError && e.code === 'invalid_config' && e.message.length > 0, JSON.stringify(bad));
  }
  const camel = new df.DeviceFlow({ clientId: 'c', issuer: 'https://a.example', timing: { retryBaseMs: 1 } }, 0).pollAction(0);
  const snake = new df.DeviceFlow({ client_id: 'c', issuer: 'https://a.example', timing: { retry_base_ms: 1 } }, 0).pollAction(0);
  assert.equal(camel.url, 'https://a.example/.well-known/openid-configuration');
  assert.equal(snake.url, camel.url);
  assert.throws(() => new df.Refresh({ clientId: 'c', tokenEndpoint: 'https://a.example/t' }), df.ConfigError);
});

test('token sets never show their tokens, but give them on request and in serialize()', () => {
  const tokens = new df.TokenSet({ ...TOKENS, token_type: 'Bearer', expires_at: 1000, expires_in: 1, scope: 'openid', extra: { custom: 'x' } });
  assertRedacted(tokens);
  assertRedacted({ ...tokens });
  assert.equal(tokens.access_token, TOKENS.access_token);
  assert.equal(tokens.refresh_token, TOKENS.refresh_token);
  assert.equal(JSON.parse(tokens.serialize()).id_token, TOKENS.id_token);
  assert.equal(inspect(tokens).includes("token_type: 'Bearer'"), true, 'non-secret fields stay visible');
  assert.ok(tokens.isExpired(1000) && !tokens.isExpired(999) && tokens.needsRefresh(60_000, 0));
});

test('requests, machines and results never show the client secret, device code or tokens', () => {
  const flow = new df.DeviceFlow({ clientId: 'c', clientSecret: CLIENT_SECRET, deviceAuthorizationEndpoint: 'https://as.example/d', tokenEndpoint: 'https://as.example/t' }, 0);
  assertRedacted(flow);
  const first = flow.pollAction(0);
  assertRedacted(first);
  assert.ok(first.headers.find((h) => h.name === 'authorization').value.startsWith('Basic '), 'the getter gives the real header');
  flow.handleResponse(first.id, { status: 200, headers: [['content-type', 'application/json']], body: JSON.stringify({ device_code: DEVICE_CODE, user_code: 'AAAA-BBBB', verification_uri: 'https://as.example/v', expires_in: 60, interval: 1 }) }, 1);
  assertRedacted(flow.pollAction(1)); // display
  assertRedacted(flow.pollAction(1)); // wait
  const poll = flow.pollAction(2000);
  assert.equal(poll.type, 'send');
  assert.ok(poll.body.includes(DEVICE_CODE));
  assertRedacted(poll);
  flow.handleResponse(poll.id, { status: 200, headers: { 'content-type': 'application/json' }, body: new TextEncoder().encode(JSON.stringify({ ...TOKENS, token_type: 'Bearer' })) }, 2100);
  const done = flow.pollAction(2100);
  assert.equal(done.type, 'done');
  assertRedacted(done);
  assertRedacted(flow);
  assert.equal(done.result.access_token, TOKENS.access_token);
});

test('handleResponse checks its input types', () => {
  const flow = new df.DeviceFlow({ clientId: 'c', deviceAuthorizationEndpoint: 'https://as.example/d', tokenEndpoint: 'https://as.example/t' }, 0);
  const send = flow.pollAction(0);
  assert.throws(() => flow.handleResponse(send.id, { status: '200' }), TypeError);
  assert.throws(() => flow.handleResponse(send.id, { status: 200, body: 42 }), TypeError);
  flow.handleResponse(send.id, { status: 200, body: new Uint8Array([0xff, 0xfe]) }, 1);
  assert.equal(flow.pollAction(1).error.code, 'invalid_response');
});

test('hostile numbers in a token response never break the boundary', () => {
  const flow = new df.Refresh({ clientId: 'c', tokenEndpoint: 'https://as.example/t', refreshToken: 'r' }, 0);
  const send = flow.pollAction(0);
  const body = '{"access_token":"a","token_type":"Bearer","expires_in":3600,"big":18446744073709551616,"neg":-9223372036854775809,"deep":[[[[[[1]]]]]]}';
  flow.handleResponse(send.id, { status: 200, headers: { 'content-type': 'application/json' }, body }, 1);
  const action = flow.pollAction(1);
  assert.equal(action.type, 'done');
  assert.equal(action.result.extra.big, 18446744073709551616); // nearest double: JSON.parse semantics
  assert.equal(action.result.extra.neg, -9223372036854775809);
  assert.deepEqual(action.result.extra.deep, [[[[[[1]]]]]]);
});

test('configuration JSON: the shapes of tests/vectors/README.md, type errors refused', () => {
  const base = { client_id: 'c', device_authorization_endpoint: 'https://as.example/d', token_endpoint: 'https://as.example/t' };
  const body = (extra) => new df.DeviceFlow({ ...base, ...extra }, 0).pollAction(0).body;
  assert.equal(body({ params: { audience: 'api', n: 7 } }), 'audience=api&n=7&client_id=c');
  assert.equal(body({ params: [{ name: 'resource', value: 'https://r' }] }), 'resource=https%3A%2F%2Fr&client_id=c');
  assert.equal(body({ params: [['a', '1'], ['a', '2']], scope: 'x y', unknown_key: true }), 'scope=x+y&a=1&a=2&client_id=c');
  assert.equal(body({ client_secret: null, issuer: null }), 'client_id=c');
  const refused = [
    { client_id: 7 }, { client_auth: 'private_key_jwt' }, { scope: ['a'] }, { params: 'a=b' }, { params: [{ name: 'a' }] },
    { params: [['a', 1]] }, { params: null }, { timing: null }, { timing: { margin_ms: -1 } }, { timing: { margin_ms: 1.5 } },
    { timing: { request_retries: 2 ** 32 } }, { timing: 5 },
  ];
  for (const bad of refused) {
    assert.throws(() => new df.DeviceFlow({ ...base, ...bad }), df.ConfigError, JSON.stringify(bad));
  }
  const timed = new df.DeviceFlow({ ...base, timing: { default_interval_ms: 1000, margin_ms: 0 } }, 0);
  const send = timed.pollAction(0);
  timed.handleResponse(send.id, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"device_code":"d","user_code":"ABCD","verification_uri":"https://as.example/v","expires_in":60}' }, 0);
  timed.pollAction(0);
  assert.equal(timed.pollAction(0).delay_ms, 1000, 'timing reached the core');
  const revocation = { client_id: 'c', revocation_endpoint: 'https://as.example/r', token: 't' };
  assert.equal(new df.Revocation({ ...revocation, token_type_hint: 'refresh_token' }).pollAction().body, 'token=t&token_type_hint=refresh_token&client_id=c');
  assert.throws(() => new df.Revocation({ ...revocation, token_type_hint: 'id_token' }), df.ConfigError);
  assert.throws(() => new df.Discovery({ timing: {} }), df.ConfigError);
});
