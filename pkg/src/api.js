// The high-level API: one awaited call per operation, with fetch, timers and AbortSignal.

import { DeviceFlow, Discovery, Refresh, Revocation } from './machine.js';
import { UnsupportedError } from './errors.js';
import { drive } from './driver.js';
import { dpopSession } from './dpop.js';

/** Splits driver options (fetch, signal, onCode, timeoutMs) from the core's configuration. */
function split(options) {
  const { fetch, signal, onCode, timeoutMs, dpop, ...config } = options ?? {};
  const maxBodyBytes = config.timing?.maxBodyBytes ?? config.timing?.max_body_bytes;
  return [config, { fetch, signal, onCode, timeoutMs, maxBodyBytes }, dpop];
}

/**
 * `dpop: { key }` (RFC 9449): the core gets the public key and fresh `jti` entropy, the
 * driver signs each `sign` action with the key, and the nonces learnt go back to `dpop.nonces`.
 */
async function withDpop(config, driver, option) {
  const session = await dpopSession(option);
  if (session) {
    config.dpop = session.config;
    driver.dpop = session;
  }
}

/**
 * Logs in with the device flow (RFC 8628): shows the code through `onCode`, polls, and
 * resolves with a TokenSet. Give `issuer` (discovery first) or both endpoints.
 */
export async function login(options) {
  const [config, driver, dpop] = split(options);
  await withDpop(config, driver, dpop);
  return drive(new DeviceFlow(config), driver);
}

/** The issuer's metadata (OpenID Connect Discovery 1.0, falling back to RFC 8414). */
export async function discover(options) {
  const [config, driver] = split(options);
  return drive(new Discovery(config), driver);
}

async function endpoint(config, driver, key, snakeKey) {
  const given = config[key] ?? config[snakeKey];
  if (given || !config.issuer) return given;
  const metadata = await discover({ issuer: config.issuer, timing: config.timing, ...driver, onCode: undefined });
  if (!metadata[snakeKey]) throw new UnsupportedError(`${config.issuer} publishes no ${snakeKey}`);
  return metadata[snakeKey];
}

/**
 * Exchanges a refresh token for new tokens (RFC 6749 §6). Rejects with InvalidGrantError
 * when the refresh token is dead (log in again). Give `tokenEndpoint` or `issuer`.
 */
export async function refresh(options) {
  const [{ issuer, ...config }, driver, dpop] = split(options);
  config.tokenEndpoint = await endpoint({ issuer, ...config }, driver, 'tokenEndpoint', 'token_endpoint');
  delete config.token_endpoint;
  await withDpop(config, driver, dpop);
  return drive(new Refresh(config), driver);
}

/** Revokes a token (RFC 7009). Give `revocationEndpoint` or `issuer`. Resolves `{ status }`. */
export async function revoke(options) {
  const [{ issuer, ...config }, driver, dpop] = split(options);
  config.revocationEndpoint = await endpoint({ issuer, ...config }, driver, 'revocationEndpoint', 'revocation_endpoint');
  delete config.revocation_endpoint;
  await withDpop(config, driver, dpop);
  return drive(new Revocation(config), driver);
}
