// DPoP helpers of the package (no provider): proofs with a fixed key, clock and `jti` entropy
// checked claim by claim against an independent computation (the core's `jti` rule from
// core/DPOP.md), WebCrypto signatures verified, DER and bad signatures from another keystore,
// the resource nonce retry of dpopFetch against a local server, and configuration errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as esm from '../../../pkg/node.mjs';

const cjs = createRequire(import.meta.url)('../../../pkg/node.cjs');
const { subtle } = webcrypto;
const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
const part = (jwt, i) => JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString());

// The vectors' key: d = 0x01..0x20 (tests/vectors/dpop/README.md), its public JWK from a vector.
const VECTOR = JSON.parse(readFileSync(new URL('../../../tests/vectors/dpop/dpop_device_flow_proofs.json', import.meta.url), 'utf8'));
const JWK = VECTOR.config.dpop.jwk;
const ENTROPY = VECTOR.config.dpop.entropy;
const NOW = 1_700_000_000_123;

async function fixedKey() {
  const d = b64(Uint8Array.from({ length: 32 }, (_, i) => i + 1));
  // Importing a private key is for this replay only; generateDpopKey() keys never leave WebCrypto.
  const privateKey = await subtle.importKey('jwk', { ...JWK, d }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const publicKey = await subtle.importKey('jwk', JWK, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  return { privateKey, publicKey };
}

/** The core's `jti`: base64url(SHA-256(entropy ‖ counter ‖ iat ‖ htm ‖ 0 ‖ htu)[..18]). */
function jti(entropy, counter, iat, htm, htu) {
  const be = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
  const h = createHash('sha256').update(entropy).update(be(counter)).update(be(iat)).update(htm).update(Buffer.from([0])).update(htu);
  return h.digest().subarray(0, 18).toString('base64url');
}

async function verifies(key, proof) {
  const [h, c, s] = proof.split('.');
  return subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key.publicKey, Buffer.from(s, 'base64url'), Buffer.from(`${h}.${c}`));
}

for (const [entry, api] of [['import', esm], ['require', cjs]]) {
  test(`${entry}: dpopHeaders with a fixed key, clock and entropy: exact header and claims, valid ES256`, async () => {
    const key = await fixedKey();
    const url = 'https://rs.example:8443/api/items?page=2#top';
    const headers = await api.dpopHeaders({ method: 'post', url, accessToken: 'at-123', key, nonce: 'n-7', nowMs: NOW, entropy: ENTROPY });
    assert.deepEqual(Object.keys(headers), ['Authorization', 'DPoP']);
    assert.equal(headers.Authorization, 'DPoP at-123');
    const [h64] = headers.DPoP.split('.');
    assert.equal(Buffer.from(h64, 'base64url').toString(),
      `{"typ":"dpop+jwt","alg":"ES256","jwk":{"crv":"P-256","kty":"EC","x":"${JWK.x}","y":"${JWK.y}"}}`);
    const iat = Math.floor(NOW / 1000);
    const htu = 'https://rs.example:8443/api/items';
    assert.deepEqual(part(headers.DPoP, 1), {
      jti: jti(ENTROPY, 1, iat, 'POST', htu), htm: 'POST', htu, iat, nonce: 'n-7',
      ath: createHash('sha256').update('at-123').digest('base64url'),
    });
    assert.equal(await verifies(key, headers.DPoP), true);
    // Same inputs, same signing input (the signature differs: WebCrypto ECDSA is randomised).
    const again = await api.dpopHeaders({ method: 'POST', url, accessToken: 'at-123', key, nonce: 'n-7', nowMs: NOW, entropy: ENTROPY });
    assert.equal(again.DPoP.split('.').slice(0, 2).join('.'), headers.DPoP.split('.').slice(0, 2).join('.'));
    // Fresh entropy by default: a new jti each time; no nonce, no `nonce` claim.
    const a = part((await api.dpopHeaders({ url, accessToken: 'at-123', key })).DPoP, 1);
    const b = part((await api.dpopHeaders({ url, accessToken: 'at-123', key })).DPoP, 1);
    assert.notEqual(a.jti, b.jti);
    assert.equal(a.htm, 'GET');
    assert.equal('nonce' in a, false);
  });

  test(`${entry}: the core's sign action signed by WebCrypto gives a proof that verifies`, async () => {
    const key = await fixedKey();
    const flow = new api.DeviceFlow({ ...VECTOR.config, dpop: { ...VECTOR.config.dpop, deviceRequest: true } }, VECTOR.start);
    const sign = flow.pollAction(VECTOR.start);
    assert.deepEqual(sign, { type: 'sign', id: 1, input: VECTOR.steps[0].expect.input });
    const signature = new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(sign.input)));
    flow.handleSignature(sign.id, signature, VECTOR.start);
    const send = flow.pollAction(VECTOR.start);
    const proof = send.headers.find((h) => h.name === 'dpop').value;
    assert.equal(proof, `${sign.input}.${b64(signature)}`);
    assert.equal(await verifies(key, proof), true);
    assert.deepEqual(flow.dpopNonces(), {});
    flow.free();
    const plain = new api.DeviceFlow({ clientId: 'c', issuer: 'https://as.example' });
    assert.equal(plain.dpopNonces(), null, 'DPoP off');
    plain.free();
  });

  test(`${entry}: another keystore's signer ({ jwk, sign }): DER accepted, garbage is invalid_signature`, async () => {
    const raw = Buffer.alloc(64, 0x22);
    raw[0] = 0x91; // r needs a leading zero in DER
    const der = Buffer.concat([Buffer.from([0x30, 69, 0x02, 33, 0]), raw.subarray(0, 32), Buffer.from([0x02, 32]), raw.subarray(32)]);
    const signer = (sig) => ({ jwk: JWK, sign: async () => sig });
    const headers = await api.dpopHeaders({ url: 'https://rs.example/', accessToken: 't', key: signer(der) });
    assert.equal(headers.DPoP.split('.')[2], b64(raw));
    await assert.rejects(api.dpopHeaders({ url: 'https://rs.example/', accessToken: 't', key: signer(new Uint8Array(10)) }),
      (e) => e instanceof api.MisuseError && e.code === 'invalid_signature');
  });

  test(`${entry}: configuration errors`, async () => {
    await assert.rejects(api.dpopHeaders({ url: 'https://rs.example/', accessToken: 't', key: {} }), api.ConfigError);
    await assert.rejects(api.dpopHeaders({ url: 'https://rs.example/', accessToken: 't', key: { jwk: { ...JWK, x: 'short' }, sign: () => new Uint8Array(64) } }),
      (e) => e instanceof api.ConfigError && /dpop\.jwk/.test(e.message));
    await assert.rejects(api.dpopHeaders({ url: 'https://rs.example/', key: await fixedKey() }), TypeError);
    await assert.rejects(api.login({ clientId: 'c', issuer: 'https://as.example', dpop: 'yes' }), api.ConfigError);
    assert.throws(() => new api.DeviceFlow({ clientId: 'c', issuer: 'https://as.example', dpop: { jwk: JWK, entropy: 'c2hvcnQ' } }),
      (e) => e instanceof api.ConfigError && /entropy/.test(e.message));
  });
}

test('generateDpopKey: a P-256 pair whose private key cannot be exported', async () => {
  const key = await esm.generateDpopKey();
  assert.equal(key.privateKey.extractable, false);
  assert.deepEqual(key.privateKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
  await assert.rejects(subtle.exportKey('jwk', key.privateKey));
  const { kty, crv } = await subtle.exportKey('jwk', key.publicKey);
  assert.deepEqual([kty, crv], ['EC', 'P-256']);
});

test('dpopFetch: a resource server nonce challenge is answered once with a new proof', async () => {
  const seen = [];
  let always = false;
  const server = createServer((req, res) => {
    const proof = req.headers.dpop;
    const claims = proof ? part(proof, 1) : {};
    seen.push({ auth: req.headers.authorization, nonce: claims.nonce ?? null, htm: claims.htm });
    if (always || claims.nonce !== 'rs-1') {
      res.writeHead(401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"', 'dpop-nonce': 'rs-1' }).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'dpop-nonce': 'rs-2' }).end('{"ok":true}');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}/data?x=1`;
  try {
    const key = await esm.generateDpopKey();
    const res = await esm.dpopFetch(url, { method: 'PUT', body: '{}', accessToken: 'tok', key, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(res.dpopNonce, 'rs-2', 'the latest nonce, for the next request');
    assert.deepEqual(seen.map((s) => [s.auth, s.nonce, s.htm]), [['DPoP tok', null, 'PUT'], ['DPoP tok', 'rs-1', 'PUT']]);
    // With the nonce known, one request; a server that keeps refusing gets exactly one retry.
    seen.length = 0;
    assert.equal((await esm.dpopFetch(new URL(url), { accessToken: 'tok', key, nonce: 'rs-1' })).status, 200);
    assert.equal(seen.length, 1);
    seen.length = 0;
    always = true;
    assert.equal((await esm.dpopFetch(url, { accessToken: 'tok', key })).status, 401);
    assert.equal(seen.length, 2);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
