// Errors: real `Error` subclasses with a stable `.code` shared by every deviceflow binding
// (Rust `ErrorCode::as_str`, Python `e.code`, Kotlin/Swift `code()`).

export class DeviceFlowError extends Error {
  /**
   * @param {string} message
   * @param {{code?: string, error?: string|null, error_description?: string|null,
   *          error_uri?: string|null, status?: number|null, cause?: unknown}} [details]
   */
  constructor(message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code ?? new.target.code ?? 'server_error';
    // The server's own OAuth fields (RFC 6749 §5.2), null when it sent none.
    this.error = details.error ?? null;
    this.error_description = details.error_description ?? null;
    this.error_uri = details.error_uri ?? null;
    this.status = details.status ?? null;
  }

  /** True when only a new interactive login can recover (grant dead, code expired, user said no). */
  get requiresLogin() {
    return this.code === 'invalid_grant' || this.code === 'expired_token' || this.code === 'access_denied';
  }

  toJSON() {
    const { name, code, message, error, error_description, error_uri, status } = this;
    return { name, code, message, error, error_description, error_uri, status };
  }
}

// Names are set from string literals so that `err.name` survives minifiers.
Object.defineProperty(DeviceFlowError, 'name', { value: 'DeviceFlowError' });

const define = (name, code) => {
  const cls = class extends DeviceFlowError {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.code = code;
  return cls;
};

/** The user denied the request (RFC 8628 §3.5). */
export const AccessDeniedError = define('AccessDeniedError', 'access_denied');
/** The device code expired before approval (RFC 8628 §3.5). */
export const ExpiredTokenError = define('ExpiredTokenError', 'expired_token');
export const InvalidClientError = define('InvalidClientError', 'invalid_client');
/** The device code or refresh token is invalid, used or revoked: log in again. */
export const InvalidGrantError = define('InvalidGrantError', 'invalid_grant');
export const InvalidScopeError = define('InvalidScopeError', 'invalid_scope');
export const InvalidRequestError = define('InvalidRequestError', 'invalid_request');
export const UnauthorizedClientError = define('UnauthorizedClientError', 'unauthorized_client');
/** The server does not offer what was asked (no device endpoint, grant disabled). */
export const UnsupportedError = define('UnsupportedError', 'unsupported');
/** Any other OAuth error; the server's code is in `.error`. */
export const ServerError = define('ServerError', 'server_error');
/** The server's answer was malformed, oversized, of the wrong type or unsafe to show. */
export const InvalidResponseError = define('InvalidResponseError', 'invalid_response');
/** Discovery returned metadata for another issuer (RFC 8414 §3.3). */
export const IssuerMismatchError = define('IssuerMismatchError', 'issuer_mismatch');
/** The server could not be reached, repeatedly. */
export const NetworkError = define('NetworkError', 'network_error');
/** The caller cancelled (`AbortSignal` or `cancel()`); `.cause` holds the signal's reason. */
export const CancelledError = define('CancelledError', 'cancelled');
/** The configuration cannot start an operation. */
export const ConfigError = define('ConfigError', 'invalid_config');
/** The caller used a machine wrongly: `.code` is `unknown_request` or `finished`. */
export const MisuseError = define('MisuseError', 'finished');
/**
 * A bug in deviceflow: the WebAssembly engine trapped. The operation that hit it fails with
 * this error; the engine is restarted, so the next operation works.
 */
export const InternalError = define('InternalError', 'internal_error');

const byCode = new Map(
  [AccessDeniedError, ExpiredTokenError, InvalidClientError, InvalidGrantError, InvalidScopeError,
    InvalidRequestError, UnauthorizedClientError, UnsupportedError, ServerError, InvalidResponseError,
    IssuerMismatchError, NetworkError, CancelledError].map((cls) => [cls.code, cls]),
);

/** The error class for a `FlowError` code (`DeviceFlowError` itself for an unknown code). */
export function errorClass(code) {
  return byCode.get(code) ?? DeviceFlowError;
}

/** A `failed` action's error JSON (the core's `FlowError`) as an Error instance. */
export function flowError(json, cause) {
  const Cls = errorClass(json.code);
  return new Cls(json.message, { ...json, cause });
}
