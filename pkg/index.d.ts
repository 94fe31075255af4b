// Types of the `deviceflow` package: the OAuth 2.0 Device Authorization Grant (RFC 8628)
// in WebAssembly, with discovery, refresh and revocation. Field names are the core's
// (snake_case), identical in every binding and in tests/vectors.

/** Milliseconds on the caller's clock; the default everywhere is `Date.now()` (Unix ms). */
export type Millis = number;

// ---------------------------------------------------------------- configuration

export type ClientAuth = 'none' | 'client_secret_basic' | 'client_secret_post';

/** Timing and limits; every field optional. The defaults are the documented behaviour. */
export interface Timing {
  /** Interval when the server sends none (RFC 8628 §3.2: 5000). */
  defaultIntervalMs?: number;
  /** Added to every poll's wait after a response: min(marginMs, interval / 10). Default 20
   * (at least interval / 5 after a `slow_down`). */
  marginMs?: number;
  maxBackoffMs?: number;
  maxTransientFailures?: number;
  retryBaseMs?: number;
  requestRetries?: number;
  /** One overall budget for a one-shot operation's attempts (default 30000 ms): each request
   * carries what is left as `timeout_ms`; a retry that cannot start in time is not made. */
  requestBudgetMs?: number;
  maxIntervalS?: number;
  maxExpiresInS?: number;
  maxRetryAfterS?: number;
  /** Longer response bodies are refused with `invalid_response` (default 65536). */
  maxBodyBytes?: number;
}

export interface ClientOptions {
  clientId: string;
  /** Redacted everywhere; sent per `clientAuth` (default `client_secret_basic` when given). */
  clientSecret?: string;
  clientAuth?: ClientAuth;
  timing?: Timing;
}

/** Give `issuer` (discovery runs first) or both endpoints; explicit endpoints win. */
export interface DeviceFlowConfig extends ClientOptions {
  issuer?: string;
  deviceAuthorizationEndpoint?: string;
  tokenEndpoint?: string;
  /** Space-separated scopes. */
  scope?: string;
  /** Extra device authorization parameters (`audience`, `resource`, ...; RFC 8628 §3.1). */
  params?: Record<string, string> | Array<{ name: string; value: string }>;
  /** Token types besides `Bearer` this host can use (RFC 6749 §7.1); others: `invalid_response`. */
  extraTokenTypes?: string[];
  /** DPoP (RFC 9449) in the low-level API: `sign` actions come before each POST. */
  dpop?: DpopConfig;
}

export interface DiscoveryConfig {
  issuer: string;
  timing?: Timing;
}

export interface RefreshConfig extends ClientOptions {
  tokenEndpoint: string;
  refreshToken: string;
  /** A narrower scope; omitted keeps the granted one (RFC 6749 §6). */
  scope?: string;
  /** Token types besides `Bearer` this host can use (RFC 6749 §7.1). */
  extraTokenTypes?: string[];
  dpop?: DpopConfig;
}

export type TokenTypeHint = 'access_token' | 'refresh_token';

export interface RevocationConfig extends ClientOptions {
  revocationEndpoint: string;
  token: string;
  tokenTypeHint?: TokenTypeHint;
  dpop?: DpopConfig;
}

// ---------------------------------------------------------------- DPoP (RFC 9449)

/** The public half of an EC P-256 key (RFC 7517); `x` and `y` base64url. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/** The core's DPoP configuration (low-level API); `login()` etc. build it from `dpop: { key }`. */
export interface DpopConfig {
  jwk: PublicJwk;
  /** At least 16 fresh random bytes, base64url, new for every operation (each `jti` derives from it). */
  entropy: string;
  /** Send a proof with the device authorization request too (default true). */
  deviceRequest?: boolean;
  /** Latest `DPoP-Nonce` per origin (`scheme://host[:port]`), e.g. from `dpopNonces()`. */
  nonces?: Record<string, string>;
}

/** A key from another keystore: the public JWK and an ES256 signer (raw r||s or DER). */
export interface DpopSigner {
  jwk: PublicJwk;
  sign(data: Uint8Array): Promise<Uint8Array | ArrayBuffer> | Uint8Array | ArrayBuffer;
}

/** A WebCrypto ECDSA P-256 key pair (`generateDpopKey()`), or another keystore's signer. */
export type DpopKey = CryptoKeyPair | DpopSigner;

/**
 * `dpop` of login/refresh/revoke: the caller's DPoP session. Without `key`, a non-extractable
 * one is generated and stored here; the nonces learnt are written back to `nonces`. Pass the
 * same object to later refresh/revoke calls: the tokens only work with this key.
 */
export interface DpopOptions {
  key?: DpopKey;
  /** Send a proof with the device authorization request too (default true). */
  deviceRequest?: boolean;
  /** Latest `DPoP-Nonce` per origin; updated after every operation. */
  nonces?: Record<string, string>;
}

export interface DpopRequest {
  /** Default `GET`. */
  method?: string;
  /** The absolute URL; query and fragment are left out of the proof (`htu`). */
  url: string;
  accessToken: string;
  key: DpopKey;
  /** The resource server's latest `DPoP-Nonce`, if any. */
  nonce?: string | null;
  /** The proof's clock (`iat`), Unix ms. Default `Date.now()`. */
  nowMs?: Millis;
  /** `jti` entropy (≥ 16 bytes, base64url). Default: 32 fresh random bytes. For tests. */
  entropy?: string;
}

export interface DpopHeaders {
  Authorization: `DPoP ${string}`;
  DPoP: string;
}

/** A new ECDSA P-256 key pair whose private key cannot be exported (`extractable: false`). */
export declare function generateDpopKey(): Promise<CryptoKeyPair>;
/** `Authorization: DPoP <token>` and a `DPoP` proof (with `ath`) for one resource request. */
export declare function dpopHeaders(request: DpopRequest): Promise<DpopHeaders>;

export interface DpopFetchInit extends RequestInit {
  accessToken: string;
  key: DpopKey;
  nonce?: string | null;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/**
 * `fetch` with the DPoP headers; repeats the request once with the resource server's nonce
 * when it answers 401 `use_dpop_nonce`. The body must be re-sendable (a string, not a stream).
 */
export declare function dpopFetch(url: string | URL, init: DpopFetchInit): Promise<Response & { readonly dpopNonce: string | null }>;

// ---------------------------------------------------------------- values

/** Tokens from a login or refresh. Secrets are getters: never shown by toString/toJSON/inspect. */
export declare class TokenSet {
  constructor(json: TokenSetJson);
  readonly access_token: string;
  /** `Bearer`, `DPoP`, ...: compare case-insensitively. */
  readonly token_type: string;
  /** Unix ms (when driven with `Date.now()`), if the server gave `expires_in`. */
  readonly expires_at: Millis | null;
  readonly expires_in: number | null;
  readonly refresh_token: string | null;
  readonly scope: string | null;
  /** The raw OpenID Connect ID token; not verified by this package. */
  readonly id_token: string | null;
  /** Every other field of the token response. */
  readonly extra: Readonly<Record<string, unknown>>;
  needsRefresh(skewMs?: number, nowMs?: Millis): boolean;
  isExpired(nowMs?: Millis): boolean;
  /** The storage form WITH the secrets. Treat it as a secret. */
  serialize(): string;
  static deserialize(stored: string | TokenSetJson): TokenSet;
  /** Redacted. */
  toJSON(): Record<string, unknown>;
  /** Redacted. */
  toString(): string;
}

export interface TokenSetJson {
  access_token: string;
  token_type: string;
  expires_at?: Millis | null;
  expires_in?: number | null;
  refresh_token?: string | null;
  scope?: string | null;
  id_token?: string | null;
  extra?: Record<string, unknown>;
}

export interface Header {
  name: string;
  value: string;
}

/** The `send` action. Body and Authorization are redacted by toString/toJSON/inspect. */
export declare class HttpRequest {
  readonly type: 'send';
  readonly id: number;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Header[];
  /** Form-encoded ('' for GET). */
  readonly body: string;
  /** The most this request may take, in ms: what is left of a one-shot operation's budget
   * (`timing.requestBudgetMs`); null for token polls. `login()` etc. apply it themselves. */
  readonly timeout_ms: number | null;
  /** `fetch(req.url, req.fetchInit(signal))` performs it. */
  fetchInit(signal?: AbortSignal): { method: string; headers: Array<[string, string]>; body?: string; signal?: AbortSignal };
  toJSON(): Record<string, unknown>;
  toString(): string;
}

/** What to show the user (RFC 8628 §3.3). Every string was checked by the core. */
export interface Prompt {
  user_code: string;
  verification_uri: string;
  /** The URI with the code in it (for a QR code); show `user_code` anyway. */
  verification_uri_complete: string | null;
  /** Show it prominently, so users can spot a wrong site. */
  verification_host: string;
  expires_at: Millis;
  expires_in: number;
  /** Seconds between polls. */
  interval: number;
  /** The server's own instructions (Microsoft sends one), cleaned. */
  message: string | null;
}

export interface ServerMetadata {
  issuer: string;
  device_authorization_endpoint: string | null;
  token_endpoint: string | null;
  revocation_endpoint: string | null;
  token_endpoint_auth_methods_supported: string[];
  grant_types_supported: string[];
  scopes_supported: string[];
  /** The URL the document came from. */
  source: string;
}

export interface Revoked {
  status: number;
}

// ---------------------------------------------------------------- actions

export type WaitReason = 'interval' | 'slow_down' | 'backoff' | 'retry_after' | 'expiry';

export type SendAction = HttpRequest;
export interface DisplayAction extends Prompt { type: 'display' }
export interface WaitAction { type: 'wait'; until: Millis; delay_ms: number; reason: WaitReason }
export interface AwaitingResponseAction { type: 'awaiting_response'; id: number }
/** DPoP: sign `input`'s UTF-8 bytes (ES256), then `handleSignature(id, signature)`. */
export interface SignAction { type: 'sign'; id: number; input: string }
export interface DoneAction<R> { type: 'done'; result: R }
export interface FailedAction { type: 'failed'; error: DeviceFlowError }

/** What `pollAction` returns: switch on `type`. */
export type Action<R = TokenSet> =
  | SendAction | SignAction | DisplayAction | WaitAction | AwaitingResponseAction | DoneAction<R> | FailedAction;

export type TransportErrorKind = 'timeout' | 'connect' | 'tls' | 'io' | 'other';

export interface ResponseInput {
  status: number;
  /** `[{name, value}]`, `[[name, value]]`, a plain object or a fetch `Headers`. */
  headers?: Header[] | Array<[string, string]> | Record<string, string> | Iterable<[string, string]>;
  body?: string | Uint8Array | ArrayBuffer | null;
}

// ---------------------------------------------------------------- low level (sans-IO)

declare class Operation<R> {
  /** `send` and `display` come out once each; the others repeat until something changes. */
  pollAction(nowMs?: Millis): Action<R>;
  /** Throws MisuseError (`unknown_request`, `finished`). */
  handleResponse(id: number, response: ResponseInput, nowMs?: Millis): void;
  handleTransportError(id: number, kind?: TransportErrorKind, nowMs?: Millis): void;
  /** The `sign` action's ES256 signature, raw r||s (WebCrypto) or DER. Throws MisuseError
   * (`invalid_signature`, `unknown_request`, `finished`). */
  handleSignature(id: number, signature: Uint8Array | ArrayBuffer, nowMs?: Millis): void;
  /** The DPoP nonces learnt per origin, for a later operation's `dpop.nonces`; null without DPoP. */
  dpopNonces(): Record<string, string> | null;
  cancel(nowMs?: Millis): void;
  /** Releases the WebAssembly memory now (otherwise the garbage collector does). */
  free(): void;
}

export declare class DeviceFlow extends Operation<TokenSet> {
  /** Throws ConfigError. */
  constructor(config: DeviceFlowConfig, nowMs?: Millis);
  /** The current prompt (a level-triggered view of `display`), or null. */
  prompt(): Prompt | null;
}
export declare class Discovery extends Operation<ServerMetadata> {
  constructor(config: DiscoveryConfig, nowMs?: Millis);
}
export declare class Refresh extends Operation<TokenSet> {
  constructor(config: RefreshConfig, nowMs?: Millis);
}
export declare class Revocation extends Operation<Revoked> {
  constructor(config: RevocationConfig, nowMs?: Millis);
}

// ---------------------------------------------------------------- high level

export interface DriverOptions {
  /** Default `globalThis.fetch`. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Aborting rejects at once with CancelledError (`.cause` = the signal's reason). */
  signal?: AbortSignal;
  /** Per request, including reading the body. Default 30000. */
  timeoutMs?: number;
}

export interface LoginOptions extends Omit<DeviceFlowConfig, 'dpop'>, DriverOptions {
  /** DPoP (RFC 9449): prove possession of this key on every token request. */
  dpop?: DpopOptions;
  /** Show the code to the user. Polling starts when it returns. Default: a line on stderr/console. */
  onCode?: (prompt: DisplayAction) => void | Promise<void>;
}

export interface RefreshOptions extends ClientOptions, DriverOptions {
  /** Or `issuer`, to discover it. */
  tokenEndpoint?: string;
  issuer?: string;
  refreshToken: string;
  scope?: string;
  /** The same DPoP session (key) as the login: DPoP-bound refresh tokens need it. */
  dpop?: DpopOptions;
}

export interface RevokeOptions extends ClientOptions, DriverOptions {
  /** Or `issuer`, to discover it. */
  revocationEndpoint?: string;
  issuer?: string;
  token: string;
  tokenTypeHint?: TokenTypeHint;
  dpop?: DpopOptions;
}

export declare function login(options: LoginOptions): Promise<TokenSet>;
export declare function discover(options: DiscoveryConfig & DriverOptions): Promise<ServerMetadata>;
/** Rejects with InvalidGrantError when the refresh token is dead: log in again. */
export declare function refresh(options: RefreshOptions): Promise<TokenSet>;
export declare function revoke(options: RevokeOptions): Promise<Revoked>;

// ---------------------------------------------------------------- errors

export type ErrorCode =
  | 'access_denied' | 'expired_token' | 'invalid_client' | 'invalid_grant' | 'invalid_scope'
  | 'invalid_request' | 'unauthorized_client' | 'unsupported' | 'server_error' | 'invalid_response'
  | 'issuer_mismatch' | 'network_error' | 'cancelled' | 'invalid_config' | 'unknown_request' | 'finished'
  | 'invalid_signature' | 'internal_error';

export interface ErrorDetails {
  code?: ErrorCode;
  error?: string | null;
  error_description?: string | null;
  error_uri?: string | null;
  status?: number | null;
  cause?: unknown;
}

export declare class DeviceFlowError extends Error {
  constructor(message: string, details?: ErrorDetails);
  /** Stable across every deviceflow binding. */
  readonly code: ErrorCode;
  /** The server's OAuth `error`, when it sent one. */
  readonly error: string | null;
  readonly error_description: string | null;
  readonly error_uri: string | null;
  /** HTTP status of the response that ended the operation. */
  readonly status: number | null;
  /** `invalid_grant`, `expired_token` or `access_denied`: only a new login helps. */
  readonly requiresLogin: boolean;
  toJSON(): Record<string, unknown>;
  static readonly code: ErrorCode | undefined;
}
export declare class AccessDeniedError extends DeviceFlowError { readonly code: 'access_denied' }
export declare class ExpiredTokenError extends DeviceFlowError { readonly code: 'expired_token' }
export declare class InvalidClientError extends DeviceFlowError { readonly code: 'invalid_client' }
export declare class InvalidGrantError extends DeviceFlowError { readonly code: 'invalid_grant' }
export declare class InvalidScopeError extends DeviceFlowError { readonly code: 'invalid_scope' }
export declare class InvalidRequestError extends DeviceFlowError { readonly code: 'invalid_request' }
export declare class UnauthorizedClientError extends DeviceFlowError { readonly code: 'unauthorized_client' }
export declare class UnsupportedError extends DeviceFlowError { readonly code: 'unsupported' }
export declare class ServerError extends DeviceFlowError { readonly code: 'server_error' }
export declare class InvalidResponseError extends DeviceFlowError { readonly code: 'invalid_response' }
export declare class IssuerMismatchError extends DeviceFlowError { readonly code: 'issuer_mismatch' }
export declare class NetworkError extends DeviceFlowError { readonly code: 'network_error' }
export declare class CancelledError extends DeviceFlowError { readonly code: 'cancelled' }
export declare class ConfigError extends DeviceFlowError { readonly code: 'invalid_config' }
export declare class MisuseError extends DeviceFlowError { readonly code: 'unknown_request' | 'finished' | 'invalid_signature' }
/** A bug in deviceflow (the WebAssembly engine trapped); the engine restarts for the next operation. */
export declare class InternalError extends DeviceFlowError { readonly code: 'internal_error' }
