// The public API (every entry point re-exports exactly this).
export { login, discover, refresh, revoke } from './api.js';
export { DeviceFlow, Discovery, Refresh, Revocation } from './machine.js';
export { generateDpopKey, dpopHeaders, dpopFetch } from './dpop.js';
export { TokenSet, HttpRequest } from './values.js';
export {
  DeviceFlowError, AccessDeniedError, ExpiredTokenError, InvalidClientError, InvalidGrantError,
  InvalidScopeError, InvalidRequestError, UnauthorizedClientError, UnsupportedError, ServerError,
  InvalidResponseError, IssuerMismatchError, NetworkError, CancelledError, ConfigError, MisuseError,
  InternalError,
} from './errors.js';
