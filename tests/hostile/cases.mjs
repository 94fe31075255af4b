// The hostile and broken authorization servers every runtime's ready driver is run against
// (tests/hostile/README.md). Each case is a device endpoint and a token endpoint that misbehave
// in one way, over real HTTP on 127.0.0.1, and the outcome every driver must reach:
//   expect: "done"            the login completes (prompt text checked for control characters)
//   expect: "<error code>"    the login fails with that stable code (a list: any of them; used
//                             only where HTTP stacks legitimately differ, e.g. a truncated body
//                             is a read error in one and a short, invalid document in another)
// Nothing may crash, hang (every case ends well within `budget_s`), or show unsafe text.
//
// `device` / `token` are handlers: (socket, request) => void, writing raw bytes, so a case can
// break HTTP itself. `request` is { method, path, headers, body } as read from the socket.

import { gzipSync } from 'node:zlib';

/** How every runner drives its login, so the suite stays short: a 1 s deadline per request,
 * one retry of the device request, the second transient failure in a row while polling ends
 * the flow. `budget_ms`: no case may take longer than this (the slowest needs about 9 s).
 *
 * Cases marked `defaults: true` are driven with the runtime's DEFAULT timing and per-request
 * deadline instead (no `timing`, no timeout given), so a defect that shortened timing hides
 * (three attempts of 30 s: 93 s before the user sees anything) cannot hide again. Each must end
 * within `default_budget_ms` (one 30 s request deadline + 6 s of slack) unless it names its own
 * `budget_ms`. Runners start them together with the rest: they add about 22 s to a run. */
export const RUN_OPTIONS = {
  client_id: 'hostile-client',
  timeout_ms: 1000,
  timing: { request_retries: 1, retry_base_ms: 100, max_transient_failures: 2 },
  budget_ms: 20000,
  default_budget_ms: 36000,
};

const CRLF = '\r\n';
const ESC = '\u001b';

/** A complete HTTP/1.1 response, then close. */
export function respond(socket, status, headers, body = '') {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [`HTTP/1.1 ${status} X`, `content-length: ${bytes.length}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(Buffer.concat([Buffer.from(lines.join(CRLF) + CRLF + CRLF), bytes]));
}

const json = (status, value, extra = {}) => (socket) =>
  respond(socket, status, { 'content-type': 'application/json', ...extra },
    typeof value === 'string' ? value : JSON.stringify(value));

/** A device authorization response; `over` replaces or adds fields. */
export function deviceBody(base, over = {}) {
  return {
    device_code: 'hostile-device-code-0123456789',
    user_code: 'WDJB-MJHT',
    verification_uri: `${base}/activate`,
    expires_in: 30,
    interval: 1,
    ...over,
  };
}

const device = (over) => (socket, req) => json(200, deviceBody(req.base, over))(socket);
const TOKENS = { access_token: 'hostile-access-token-0123456789', token_type: 'Bearer', expires_in: 60 };
const tokens = json(200, TOKENS);
const pending = json(400, { error: 'authorization_pending' });

/** Writes `chunk` every `ms` until the client goes away. */
function trickle(socket, first, chunk, ms) {
  socket.write(first);
  const t = setInterval(() => {
    if (socket.destroyed) clearInterval(t);
    else socket.write(chunk);
  }, ms);
  socket.on('close', () => clearInterval(t));
  socket.on('error', () => clearInterval(t));
}

/** Writes `chunk` as fast as the client reads, `total` bytes (Infinity: until it goes away). */
function stream(socket, head, chunk, total) {
  socket.write(head);
  let sent = 0;
  const pump = () => {
    while (sent < total && !socket.destroyed) {
      sent += chunk.length;
      if (!socket.write(chunk)) return socket.once('drain', pump);
    }
    if (!socket.destroyed) socket.end();
  };
  socket.on('error', () => {});
  pump();
}

let bomb = null; // built on first use: 64 MB of spaces, gzipped (about 64 KB)
const gzipBomb = () => (bomb ??= gzipSync(Buffer.alloc(64 << 20, ' '), { level: 9 }));

const never = (socket) => socket.on('error', () => {});

export const cases = [
  // --- transport: the server is slow, silent, or not speaking HTTP
  { name: 'silent', about: 'accepts the connection and never answers', expect: 'network_error', device: never },
  { name: 'slow_headers', about: 'sends the response head one byte every 200 ms, for ever', expect: 'network_error',
    device: (s) => trickle(s, 'HTTP/1.1 200 OK\r\n', 'x', 200) },
  { name: 'slow_body', about: 'announces 100 KB of JSON and sends one byte every 200 ms', expect: 'network_error',
    device: (s) => trickle(s, `HTTP/1.1 200 OK${CRLF}content-type: application/json${CRLF}content-length: 100000${CRLF}${CRLF}{`, ' ', 200) },
  { name: 'garbage', about: 'answers with bytes that are not HTTP', expect: 'network_error',
    device: (s) => s.end('HELLO THIS IS NOT HTTP\r\n\r\n') },
  { name: 'reset_mid_headers', about: 'closes the connection halfway through the headers', expect: 'network_error',
    device: (s) => s.end('HTTP/1.1 200 OK\r\ncontent-type: appl') },
  { name: 'short_body', about: 'Content-Length 1000, sends 10 bytes, closes', expect: ['network_error', 'invalid_response'],
    device: (s) => s.end(`HTTP/1.1 200 OK${CRLF}content-type: application/json${CRLF}content-length: 1000${CRLF}${CRLF}{"device_c`) },
  { name: 'huge_header', about: 'one 1 MB header line', expect: ['network_error', 'invalid_response'],
    device: (s) => { s.on('error', () => {}); s.end(`HTTP/1.1 200 OK${CRLF}x-big: ${'a'.repeat(1 << 20)}${CRLF}content-length: 2${CRLF}${CRLF}{}`); } },
  { name: 'token_always_503', about: 'the token endpoint answers 503 with HTML on every poll', expect: 'network_error',
    token: (s) => respond(s, 503, { 'content-type': 'text/html' }, '<h1>Service Unavailable</h1>') },
  { name: 'token_silent', about: 'the token endpoint never answers', expect: 'network_error', token: never },

  // --- size: bodies that must not be read whole
  { name: 'huge_body', about: '50 MB of JSON whitespace with Content-Length', expect: 'invalid_response',
    device: (s) => stream(s, `HTTP/1.1 200 OK${CRLF}content-type: application/json${CRLF}content-length: ${50 << 20}${CRLF}${CRLF}`, Buffer.alloc(1 << 16, ' '), 50 << 20) },
  { name: 'endless_chunked', about: 'a chunked body that never ends', expect: 'invalid_response',
    device: (s) => stream(s, `HTTP/1.1 200 OK${CRLF}content-type: application/json${CRLF}transfer-encoding: chunked${CRLF}${CRLF}`, Buffer.from(`10000${CRLF}${' '.repeat(0x10000)}${CRLF}`), Infinity) },
  { name: 'gzip_bomb', about: 'Content-Encoding gzip: 60 KB that inflate to 64 MB', expect: 'invalid_response',
    device: (s) => respond(s, 200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipBomb()) },
  { name: 'deep_json', about: '60,000 nested arrays (under the body limit: the nesting limit must catch it)', expect: 'invalid_response', device: json(200, '['.repeat(60000)) },

  // --- redirects: never followed (a POST with secrets must not move, or turn into a GET)
  { name: 'redirect_to_http', about: '302 to a plain-http host', expect: 'invalid_response',
    device: (s) => respond(s, 302, { location: 'http://evil.example/device' }) },
  { name: 'token_redirect_307', about: 'the token endpoint answers 307 to another host', expect: 'invalid_response',
    token: (s) => respond(s, 307, { location: 'https://evil.example/token' }) },

  // --- content: malformed or unsafe data
  { name: 'not_json', about: 'HTTP 200 with an HTML page', expect: 'invalid_response',
    device: (s) => respond(s, 200, { 'content-type': 'text/html' }, '<html>hello</html>') },
  { name: 'json_array', about: 'a JSON array instead of an object', expect: 'invalid_response', device: json(200, '[1,2,3]') },
  { name: 'empty_200', about: 'HTTP 200 with an empty body', expect: 'invalid_response', device: (s) => respond(s, 200, {}) },
  { name: 'invalid_utf8', about: 'a body that is not UTF-8', expect: 'invalid_response',
    device: (s) => respond(s, 200, { 'content-type': 'application/json' }, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])) },
  { name: 'missing_device_code', about: 'no device_code', expect: 'invalid_response', device: device({ device_code: undefined }) },
  { name: 'wrong_types', about: 'expires_in as an object', expect: 'invalid_response', device: device({ expires_in: { s: 30 } }) },
  { name: 'negative_expiry', about: 'expires_in -30', expect: 'invalid_response', device: device({ expires_in: -30 }) },
  { name: 'absurd_interval', about: 'interval of a day', expect: 'invalid_response', device: device({ interval: 86400 }) },
  { name: 'ansi_user_code', about: 'an ANSI escape in user_code', expect: 'invalid_response', device: device({ user_code: `${ESC}[2JWDJB` }) },
  { name: 'http_verification_uri', about: 'verification_uri over http to a public host', expect: 'invalid_response',
    device: device({ verification_uri: 'http://evil.example/activate' }) },
  { name: 'javascript_uri', about: 'verification_uri javascript:', expect: 'invalid_response', device: device({ verification_uri: 'javascript:alert(1)' }) },
  { name: 'userinfo_uri', about: 'verification_uri with userinfo that hides the real host', expect: 'invalid_response',
    device: (s, req) => json(200, deviceBody(req.base, { verification_uri: 'https://login.example.com@evil.example/activate' }))(s) },
  { name: 'bidi_uri', about: 'a right-to-left override in verification_uri', expect: 'invalid_response',
    device: device({ verification_uri: 'https://exa\u202emple.com/activate' }) },
  { name: 'complete_uri_elsewhere', about: 'verification_uri_complete on another host', expect: 'invalid_response',
    device: (s, req) => json(200, deviceBody(req.base, { verification_uri_complete: 'https://evil.example/activate?code=WDJB-MJHT' }))(s) },
  { name: 'huge_device_code', about: 'a 10 KB device_code', expect: 'invalid_response', device: device({ device_code: 'd'.repeat(10240) }) },
  { name: 'token_missing_type', about: 'a token response without token_type', expect: 'invalid_response',
    token: json(200, { access_token: 'hostile-access-token-0123456789' }) },
  { name: 'token_array_body', about: 'a token response that is a JSON array', expect: 'invalid_response', token: json(200, '[]') },

  // --- protocol: outcomes the client must recognise, and never wait out for ever
  { name: 'denied_with_200', about: 'GitHub style: access_denied with HTTP 200', expect: 'access_denied',
    token: json(200, { error: 'access_denied', error_description: `no ${ESC}[31mthanks` }) },
  { name: 'unknown_oauth_error', about: 'an OAuth error the client does not know', expect: 'server_error',
    token: json(400, { error: 'weird_error' }) },
  { name: 'pending_forever', about: 'authorization_pending for ever, never expired_token (expires_in 4)', expect: 'expired_token',
    device: device({ expires_in: 4 }), token: pending },
  { name: 'slow_down_forever', about: 'slow_down on every poll (expires_in 8)', expect: 'expired_token',
    device: device({ expires_in: 8 }), token: json(400, { error: 'slow_down' }) },
  { name: 'retry_after_forever', about: '503 with Retry-After of a year on the token endpoint (expires_in 4)', expect: 'expired_token',
    device: device({ expires_in: 4 }), token: (s) => respond(s, 503, { 'retry-after': '31536000' }) },

  // --- default timing (RUN_OPTIONS): one overall budget for the device request, not 30 s per attempt
  { name: 'default_silent', defaults: true, about: 'default timing: the device endpoint never answers; network_error after one request deadline, not three',
    expect: 'network_error', device: never },
  { name: 'default_trickle_body', defaults: true, about: 'default timing: the device endpoint sends its body one byte every 500 ms, for ever',
    expect: 'network_error',
    device: (s) => trickle(s, `HTTP/1.1 200 OK${CRLF}content-type: application/json${CRLF}content-length: 100000${CRLF}${CRLF}{`, ' ', 500) },
  { name: 'default_retry_after_past_budget', defaults: true, budget_ms: 5000,
    about: 'default timing: 503 with Retry-After 120 at the device endpoint; network_error at once, not after 2 minutes',
    expect: 'network_error', device: (s) => respond(s, 503, { 'retry-after': '120' }) },

  // --- token types (RFC 6749 §7.1): a token the client cannot use is not handed out as Bearer
  { name: 'token_type_unknown', about: 'a token of type "mac": refused, never used as a bearer token', expect: 'invalid_response',
    token: json(200, { ...TOKENS, token_type: 'mac' }) },

  // --- quirks that must still log in
  { name: 'form_encoded_and_strings', about: 'form-urlencoded bodies, numbers as strings (GitHub without Accept)', expect: 'done',
    device: (s, req) => respond(s, 200, { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ ...deviceBody(req.base), expires_in: '30', interval: '1' }).toString()),
    token: (s) => respond(s, 200, { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ access_token: TOKENS.access_token, token_type: 'bearer', scope: 'repo' }).toString()) },
  { name: 'pending_then_tokens_with_200', about: 'GitHub style pending with 200, then tokens', expect: 'done',
    token: (s, req) => (req.poll < 2 ? json(200, { error: 'authorization_pending' })(s) : tokens(s)) },
  { name: 'unsafe_message', about: 'a server message with ANSI, BiDi and newlines: shown cleaned', expect: 'done',
    device: device({ message: `${ESC}[1mGo${ESC}[0m to \u202eexample\nand\u0007 enter the code` }) },
  { name: 'blip_after_approval', about: 'the connection drops on one poll after approval; the login is not lost', expect: 'done',
    token: (s, req) => (req.poll === 1 ? s.destroy() : req.poll === 0 ? pending(s) : tokens(s)) },
];

/** Defaults: a well-behaved device endpoint and a token endpoint that approves at once. */
export const defaults = { device: device({}), token: tokens };
