// Trap recovery: the module is built with panic = "abort", so a bug ends in a WebAssembly trap
// that leaves the instance unusable. The package then restarts the engine (a fresh instance of
// the compiled module): the operation that hit the trap fails with InternalError, operations
// of the dead instance are refused with InternalError (never touching the new one), and the
// next operations run normally. `__trapForTests` is a hidden test hook of the wasm binding
// that traps the way a panic does (`unreachable`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esm from '../../../pkg/node.mjs';
import { binding, instanceGeneration, wasmCall } from '../../../pkg/src/binding.js';
import { replay } from './replay.mjs';

const cjs = createRequire(import.meta.url)('../../../pkg/node.cjs');
const vector = (name) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../tests/vectors/${name}`, import.meta.url)), 'utf8'));
const VECTORS = ['device_basic_happy_path.json', 'refresh_basic_auth_scope_no_rotation.json', 'dpop/dpop_device_flow_proofs.json'];

/** Traps the current instance through the same guard every call of the package uses. */
const trap = () => wasmCall(instanceGeneration(), () => binding().__trapForTests());
const isInternal = (api) => (e) => e instanceof api.InternalError && e instanceof api.DeviceFlowError && e.code === 'internal_error';

test('the test hook is not part of the public API', () => {
  assert.equal(esm.__trapForTests, undefined);
  assert.equal(cjs.__trapForTests, undefined);
  assert.equal(typeof binding().__trapForTests, 'function');
});

test('a trap fails its operation with InternalError and the next operations run on a fresh instance', () => {
  for (let round = 0; round < 3; round++) {
    const esmFlow = new esm.DeviceFlow({ clientId: 'c', issuer: 'https://as.example' }, 0);
    const cjsFlow = new cjs.DeviceFlow({ clientId: 'c', issuer: 'https://as.example' }, 0);
    assert.equal(esmFlow.pollAction(0).type, 'send');
    assert.equal(cjsFlow.pollAction(0).type, 'send');
    const generation = instanceGeneration();

    assert.throws(trap, (e) => isInternal(esm)(e) && e.cause instanceof WebAssembly.RuntimeError);
    assert.equal(instanceGeneration(), generation + 1, 'a new instance');

    // Operations of the dead instance, from either entry point: refused, typed, and free()
    // does not call into the new instance.
    assert.throws(() => esmFlow.pollAction(1), isInternal(esm));
    assert.throws(() => cjsFlow.handleTransportError(1, 'timeout', 1), isInternal(cjs));
    esmFlow.free();
    cjsFlow.free();

    // The next operations, through both entry points, behave exactly as the vectors say.
    for (const name of VECTORS) {
      replay(esm, vector(name));
      replay(cjs, vector(name));
    }
  }
});

test('login() after a trap logs in normally', async () => {
  assert.throws(trap, isInternal(esm));
  const replies = [
    { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'https://as.example/device', expires_in: 600, interval: 1 },
    { access_token: 'at', token_type: 'Bearer', expires_in: 60 },
  ];
  const fetch = async () => new Response(JSON.stringify(replies.shift()), { headers: { 'content-type': 'application/json' } });
  const tokens = await esm.login({
    clientId: 'c', deviceAuthorizationEndpoint: 'https://as.example/device', tokenEndpoint: 'https://as.example/token',
    fetch, onCode: () => {}, timing: { marginMs: 0 },
  });
  assert.equal(tokens.access_token, 'at');
});

test('a trap during login(): it rejects with InternalError, and the next login() works', async () => {
  const device = { device_code: 'dc', user_code: 'ABCD-EFGH', verification_uri: 'https://as.example/device', expires_in: 600, interval: 1 };
  const json = (body) => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  const options = (fetch) => ({
    clientId: 'c', deviceAuthorizationEndpoint: 'https://as.example/device', tokenEndpoint: 'https://as.example/token',
    fetch, onCode: () => {}, timing: { marginMs: 0 },
  });
  // The engine fails while the flow waits for the device authorization response.
  const failed = esm.login(options(async () => {
    assert.throws(trap, isInternal(esm));
    return json(device);
  }));
  await assert.rejects(failed, isInternal(esm));
  const replies = [device, { access_token: 'at2', token_type: 'Bearer' }];
  const tokens = await esm.login(options(async () => json(replies.shift())));
  assert.equal(tokens.access_token, 'at2');
});
