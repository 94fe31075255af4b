// Values that hold secrets. Secrets live in private fields behind getters, so
// `toString()`, `JSON.stringify()`, `util.inspect()`/`console.log` and object spread never
// show them; the storage form is explicit (`TokenSet#serialize`).

const inspect = Symbol.for('nodejs.util.inspect.custom');
const REDACTED = '[redacted]';

/** Tokens from a login or refresh (RFC 6749 §5.1), with the expiry made absolute (Unix ms). */
export class TokenSet {
  #access_token;
  #refresh_token;
  #id_token;

  /** @param {object} json the core's TokenSet JSON (snake_case, as `serialize()` writes it) */
  constructor(json) {
    if (!json || typeof json.access_token !== 'string') throw new TypeError('TokenSet needs an access_token string');
    this.#access_token = json.access_token;
    this.#refresh_token = json.refresh_token ?? null;
    this.#id_token = json.id_token ?? null;
    this.token_type = json.token_type;
    this.expires_at = json.expires_at ?? null;
    this.expires_in = json.expires_in ?? null;
    this.scope = json.scope ?? null;
    this.extra = json.extra ?? {};
    Object.freeze(this);
  }

  get access_token() { return this.#access_token; }
  get refresh_token() { return this.#refresh_token; }
  /** The raw ID token; not verified by this package. */
  get id_token() { return this.#id_token; }

  /** True when the access token expires within `skewMs` of `nowMs` (false if the expiry is unknown). */
  needsRefresh(skewMs = 60_000, nowMs = Date.now()) {
    return this.expires_at !== null && nowMs + skewMs >= this.expires_at;
  }

  isExpired(nowMs = Date.now()) {
    return this.needsRefresh(0, nowMs);
  }

  /** The storage form WITH the secrets (JSON text). Treat the result as a secret. */
  serialize() {
    return JSON.stringify({
      access_token: this.#access_token, token_type: this.token_type, expires_at: this.expires_at,
      expires_in: this.expires_in, refresh_token: this.#refresh_token, scope: this.scope,
      id_token: this.#id_token, extra: this.extra,
    });
  }

  /** Reads what `serialize()` wrote (text or the parsed object). */
  static deserialize(stored) {
    return new TokenSet(typeof stored === 'string' ? JSON.parse(stored) : stored);
  }

  toJSON() {
    return {
      access_token: REDACTED, token_type: this.token_type, expires_at: this.expires_at,
      expires_in: this.expires_in, refresh_token: this.#refresh_token === null ? null : REDACTED,
      scope: this.scope, id_token: this.#id_token === null ? null : REDACTED,
      extra: Object.fromEntries(Object.keys(this.extra).map((k) => [k, REDACTED])),
    };
  }

  toString() {
    return `TokenSet ${JSON.stringify(this.toJSON())}`;
  }

  [inspect](depth, options, show) {
    return `TokenSet ${show ? show(this.toJSON(), options) : JSON.stringify(this.toJSON())}`;
  }
}

const isAuthorization = (name) => name.toLowerCase() === 'authorization';

/**
 * The `send` action: a request to perform once, then answer with `handleResponse(id, ...)`
 * or `handleTransportError(id, kind)`. Body and Authorization header can carry secrets
 * (device code, refresh token, client secret), so they are not enumerable and are redacted.
 */
export class HttpRequest {
  #headers;
  #body;

  constructor(json) {
    this.type = 'send';
    this.id = json.id;
    this.method = json.method;
    this.url = json.url;
    /** The most this request may take, in ms (a one-shot operation's budget left); null for polls. */
    this.timeout_ms = json.timeout_ms ?? null;
    this.#headers = json.headers.map(({ name, value }) => ({ name, value }));
    this.#body = json.body;
    Object.freeze(this);
  }

  /** `[{name, value}]`, in order. */
  get headers() { return this.#headers.map((h) => ({ ...h })); }
  /** The form-encoded body ('' for GET). */
  get body() { return this.#body; }

  /** `fetch(req.url, req.fetchInit())` performs the request. */
  fetchInit(signal) {
    return {
      method: this.method,
      headers: this.#headers.map((h) => [h.name, h.value]),
      body: this.method === 'GET' ? undefined : this.#body,
      signal,
    };
  }

  toJSON() {
    return {
      type: this.type, id: this.id, method: this.method, url: this.url,
      headers: this.#headers.map(({ name, value }) => ({ name, value: isAuthorization(name) ? REDACTED : value })),
      body: `[redacted ${this.#body.length} bytes]`, timeout_ms: this.timeout_ms,
    };
  }

  toString() {
    return `HttpRequest ${JSON.stringify(this.toJSON())}`;
  }

  [inspect](depth, options, show) {
    return `HttpRequest ${show ? show(this.toJSON(), options) : JSON.stringify(this.toJSON())}`;
  }
}
