// DPoP (RFC 9449) with WebCrypto. The core builds every proof (header, claims, `jti`, `ath`,
// nonces) and the DER/raw signature handling; this file only holds the key and signs: the
// private key never leaves WebCrypto (`generateDpopKey()` makes it non-extractable).

import { binding, instanceGeneration, wasmCall } from './binding.js';
import { ConfigError, InternalError, MisuseError } from './errors.js';

const utf8 = new TextEncoder();
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ES256 = { name: 'ECDSA', hash: 'SHA-256' };

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new ConfigError('DPoP needs WebCrypto (globalThis.crypto.subtle): Node >= 20, or a browser page served over https or from localhost');
  return s;
}

function base64url(bytes) {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 fresh random bytes, base64url: the `jti` entropy of one operation. */
function freshEntropy() {
  return base64url(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * A new P-256 key pair for DPoP whose private key cannot be exported (`extractable: false`).
 * Keep the pair (e.g. in IndexedDB, which stores CryptoKeys as they are) next to the tokens:
 * DPoP-bound tokens, and a public client's refresh token, only work with this key.
 */
export async function generateDpopKey() {
  return subtle().generateKey(EC_P256, false, ['sign', 'verify']);
}

const publicJwks = new WeakMap();

/**
 * `key`: a WebCrypto `CryptoKeyPair` (ECDSA P-256), or `{ jwk, sign }` for another keystore
 * (`jwk` the public key, `sign(bytes)` resolving to an ES256 signature, raw r||s or DER).
 * Returns `{ jwk, sign(input: string) → Promise<Uint8Array> }`.
 */
async function signer(key) {
  if (key && typeof key.sign === 'function' && key.jwk) {
    return { jwk: key.jwk, sign: async (input) => new Uint8Array(await key.sign(utf8.encode(input))) };
  }
  const { privateKey, publicKey } = key ?? {};
  if (!privateKey || !publicKey || privateKey.algorithm?.name !== 'ECDSA' || privateKey.algorithm?.namedCurve !== 'P-256') {
    throw new ConfigError('dpop.key must be an ECDSA P-256 CryptoKeyPair (generateDpopKey()) or { jwk, sign }');
  }
  let jwk = publicJwks.get(publicKey);
  if (!jwk) {
    const { kty, crv, x, y } = await subtle().exportKey('jwk', publicKey);
    jwk = { kty, crv, x, y };
    publicJwks.set(publicKey, jwk);
  }
  return { jwk, sign: async (input) => new Uint8Array(await subtle().sign(ES256, privateKey, utf8.encode(input))) };
}

/**
 * The `dpop` option of login/refresh/revoke → the core's `dpop` config and a signer.
 * The option object is the caller's DPoP session: a missing `key` is generated and stored
 * in it, and the nonces learnt are written back to its `nonces` for the next operation.
 */
export async function dpopSession(option) {
  if (option === undefined || option === null || option === false) return null;
  if (typeof option !== 'object') throw new ConfigError('dpop must be an object: { key }');
  if (!option.key) option.key = await generateDpopKey();
  const { jwk, sign } = await signer(option.key);
  const config = {
    jwk,
    entropy: option.entropy ?? freshEntropy(),
    device_request: option.deviceRequest ?? option.device_request ?? true,
    nonces: { ...(option.nonces ?? {}) },
  };
  const keep = (nonces) => {
    if (!nonces) return;
    if (option.nonces === undefined || option.nonces === null) option.nonces = {};
    Object.assign(option.nonces, nonces);
  };
  return { config, sign, keep };
}

/** `Headers`, `[[name, value]]` or a plain object as `[name, value, ...]`. */
function flatHeaders(headers) {
  if (!headers) return [];
  const entries = typeof headers.entries === 'function' && !Array.isArray(headers) ? [...headers.entries()]
    : Array.isArray(headers) ? headers : Object.entries(headers);
  return entries.flatMap(([name, value]) => [String(name), String(value)]);
}

const HEADER_NAMES = { authorization: 'Authorization', dpop: 'DPoP' };

/** One resource proof from the core's `DpopProofs`. */
async function resourceHeaders({ proofs, sign, call }, { method, url, accessToken, nowMs }) {
  const input = call(() => proofs.input(method, url, accessToken, nowMs));
  const signature = await sign(input);
  const { DpopProofs } = binding();
  const result = JSON.parse(call(() => DpopProofs.headers(input, signature, accessToken)));
  if (result.misuse) throw new MisuseError(result.misuse.message, { code: result.misuse.code });
  return Object.fromEntries(result.map(({ name, value }) => [HEADER_NAMES[name] ?? name, value]));
}

function checkRequest({ url, accessToken }) {
  if (typeof url !== 'string' || !url) throw new TypeError('url must be the absolute URL of the request');
  if (typeof accessToken !== 'string' || !accessToken) throw new TypeError('accessToken must be a string (tokens.access_token)');
}

async function openProofs(key, entropy) {
  const { jwk, sign } = await signer(key);
  const { DpopProofs } = binding();
  const born = instanceGeneration();
  const call = (fn) => wasmCall(born, fn);
  const config = JSON.stringify({ jwk, entropy: entropy ?? freshEntropy() });
  let proofs;
  try {
    proofs = call(() => new DpopProofs(config));
  } catch (e) {
    if (e instanceof InternalError) throw e;
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  // An object of a dead instance is dropped without a call: its memory went with it.
  const free = () => born === instanceGeneration() && proofs.free();
  return { proofs, sign, call, free };
}

/**
 * `{ Authorization: 'DPoP <token>', DPoP: <proof> }` for one resource request (RFC 9449 §7):
 * the proof binds `method`, `url` (without query and fragment), the time, the token (`ath`)
 * and `nonce` if the resource server gave one (its `DPoP-Nonce` response header).
 */
export async function dpopHeaders({ method = 'GET', url, accessToken, key, nonce, nowMs = Date.now(), entropy } = {}) {
  checkRequest({ url, accessToken });
  const open = await openProofs(key, entropy);
  const { proofs, call } = open;
  try {
    if (nonce) call(() => proofs.respond(url, 200, ['dpop-nonce', String(nonce)], new Uint8Array(0)));
    return await resourceHeaders(open, { method: method.toUpperCase(), url, accessToken, nowMs });
  } finally {
    open.free();
  }
}

/**
 * `fetch` with DPoP: adds the two headers, and when the resource server answers
 * `401 WWW-Authenticate: DPoP error="use_dpop_nonce"` with a `DPoP-Nonce`, repeats the
 * request once with a new proof carrying it. Resolves with the last `Response`; keep its
 * `DPoP-Nonce` header (`response.dpopNonce`) and pass it as `nonce` next time to save a round
 * trip. `init`: fetch's options plus `accessToken`, `key`, `nonce` and `fetch`.
 */
export async function dpopFetch(url, init = {}) {
  const { accessToken, key, nonce, fetch = globalThis.fetch, ...rest } = init;
  const target = url instanceof URL ? url.href : url;
  checkRequest({ url: target, accessToken });
  const method = (rest.method ?? 'GET').toUpperCase();
  const open = await openProofs(key);
  const { proofs, call } = open;
  try {
    if (nonce) call(() => proofs.respond(target, 200, ['dpop-nonce', String(nonce)], new Uint8Array(0)));
    for (let attempt = 0; ; attempt++) {
      const headers = new Headers(rest.headers);
      const dpop = await resourceHeaders(open, { method, url: target, accessToken, nowMs: Date.now() });
      for (const [name, value] of Object.entries(dpop)) headers.set(name, value);
      const response = await fetch(target, { ...rest, method, headers });
      const list = flatHeaders(response.headers);
      const retry = call(() => proofs.respond(target, response.status, list, new Uint8Array(0)));
      const learnt = JSON.parse(call(() => proofs.nonces()));
      const nonceNow = Object.values(learnt)[0] ?? null;
      if (!retry || attempt > 0) {
        Object.defineProperty(response, 'dpopNonce', { value: nonceNow, enumerable: false });
        return response;
      }
      await response.body?.cancel().catch(() => {});
    }
  } finally {
    open.free();
  }
}
