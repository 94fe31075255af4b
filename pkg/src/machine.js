// The low-level, sans-IO API: one class per core operation, same methods as the Rust core.
// Times are milliseconds on the caller's clock; the default is `Date.now()` (Unix ms), which
// keeps a stored TokenSet's `expires_at` meaningful.

import { binding, instanceGeneration, wasmCall } from './binding.js';
import { ConfigError, InternalError, MisuseError, flowError } from './errors.js';
import { HttpRequest, TokenSet } from './values.js';
import { coreConfig } from './config.js';

const encoder = new TextEncoder();

function bytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('response body must be a string, Uint8Array or ArrayBuffer');
}

/** Headers (`[{name, value}]`, `[[name, value]]`, a plain object or a fetch `Headers`) as `[name, value, ...]`. */
function headerList(headers) {
  if (!headers) return [];
  const entries = Array.isArray(headers) || typeof headers[Symbol.iterator] === 'function'
    ? [...headers] : Object.entries(headers);
  return entries.flatMap((h) => (Array.isArray(h) ? [String(h[0]), String(h[1])] : [String(h.name), String(h.value)]));
}

// The engine's transport error kinds after `other` (its index 0).
const TRANSPORT_KINDS = ['timeout', 'connect', 'tls', 'io'];

const message = (e) => (e instanceof Error ? e.message : String(e));

class Operation {
  #machine;
  #result;
  #born = instanceGeneration();

  constructor(kind, config, nowMs, result) {
    const { Machine } = binding();
    let json;
    try {
      json = JSON.stringify(coreConfig(config));
    } catch (e) {
      throw new ConfigError(`configuration is not serialisable: ${message(e)}`, { cause: e });
    }
    try {
      this.#machine = this.#call(() => new Machine(kind, json ?? 'null', nowMs));
    } catch (e) {
      if (e instanceof InternalError) throw e;
      throw new ConfigError(message(e));
    }
    this.#result = result;
  }

  /** Every call into the engine: see `wasmCall` (a trap restarts it). */
  #call(fn) {
    return wasmCall(this.#born, fn);
  }

  /** One input (the engine's `Machine.input`: 0 response, 1 signature, 2 transport error, 3 cancel). */
  #input(event, id, status, headers, body, nowMs) {
    const outcome = this.#call(() => this.#machine.input(event, id, status, headers, body, nowMs));
    if (outcome !== '') {
      const { code, message } = JSON.parse(outcome);
      throw new MisuseError(message, { code });
    }
  }

  /** The prompt (`true`) or the DPoP nonces (`false`) as an object, or null. */
  #view(prompt) {
    const json = this.#call(() => this.#machine.view(prompt));
    return json === '' ? null : JSON.parse(json);
  }

  /**
   * The next thing to do. `send` and `display` come out once each; `wait`,
   * `awaiting_response`, `done` and `failed` repeat until something changes.
   */
  pollAction(nowMs = Date.now()) {
    const action = JSON.parse(this.#call(() => this.#machine.poll(nowMs)));
    switch (action.type) {
      case 'send': return new HttpRequest(action);
      case 'done': {
        const { type, ...result } = action;
        return { type, result: this.#result(result) };
      }
      case 'failed': {
        const { type, ...error } = action;
        return { type, error: flowError(error) };
      }
      default: return action;
    }
  }

  /** Feeds the response (any HTTP status) to the request with this id. */
  handleResponse(id, response, nowMs = Date.now()) {
    const { status, headers, body } = response;
    if (!Number.isInteger(status) || status < 0 || status > 65535) throw new TypeError('status must be an integer HTTP status');
    this.#input(0, id, status, headerList(headers), bytes(body), nowMs);
  }

  /**
   * The DPoP signature for the `sign` action with this id: ES256 over the UTF-8 bytes of
   * its `input`, raw r||s (WebCrypto) or DER. The `send` carrying the proof follows.
   */
  handleSignature(id, signature, nowMs = Date.now()) {
    this.#input(1, id, 0, [], bytes(signature), nowMs);
  }

  /** The DPoP nonces learnt per origin (`{origin: nonce}`), or null when DPoP is off. */
  dpopNonces() {
    return this.#view(false);
  }

  /** The request with this id got no HTTP response: `timeout`, `connect`, `tls`, `io` or `other`. */
  handleTransportError(id, kind = 'other', nowMs = Date.now()) {
    this.#input(2, id, TRANSPORT_KINDS.indexOf(String(kind)) + 1, [], bytes(), nowMs);
  }

  /** Stops at once; the next action is `failed` with code `cancelled`. */
  cancel(nowMs = Date.now()) {
    this.#input(3, 0, 0, [], bytes(), nowMs);
  }

  /** The current prompt (device flow only: a level-triggered view of `display`), or null. */
  prompt() {
    return this.#view(true);
  }

  /** Releases the WebAssembly memory now (otherwise the garbage collector does it). */
  free() {
    // An object of a dead instance is dropped without a call: its memory went with it.
    if (this.#born === instanceGeneration()) this.#machine.free();
  }
}

const plain = (json) => Object.freeze(json);

/** The RFC 8628 device flow. Config: `clientId`, `scope`, `issuer` or both endpoints, ... */
export class DeviceFlow extends Operation {
  constructor(config, nowMs = Date.now()) {
    super('device_flow', config, nowMs, (json) => new TokenSet(json));
  }
}

/** Fetches an issuer's metadata (OpenID Connect Discovery / RFC 8414). Config: `{ issuer }`. */
export class Discovery extends Operation {
  constructor(config, nowMs = Date.now()) {
    super('discovery', config, nowMs, plain);
  }
}

/** Exchanges a refresh token (RFC 6749 §6). Config: `tokenEndpoint`, `refreshToken`, client fields. */
export class Refresh extends Operation {
  constructor(config, nowMs = Date.now()) {
    super('refresh', config, nowMs, (json) => new TokenSet(json));
  }
}

/** Revokes a token (RFC 7009). Config: `revocationEndpoint`, `token`, `tokenTypeHint`, client fields. */
export class Revocation extends Operation {
  constructor(config, nowMs = Date.now()) {
    super('revocation', config, nowMs, plain);
  }
}
