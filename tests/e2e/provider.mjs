#!/usr/bin/env node
// A real OAuth 2.0 authorization server (node-oidc-provider) for the end-to-end tests.
// Prints ONE JSON line on stdout when listening: {"issuer":"http://127.0.0.1:PORT","pid":N}
// Everything else goes to stderr. Stops on stdin EOF, SIGTERM/SIGINT, or after MAX_LIFETIME s.
// Env: PORT (0 = free port), DEVICE_TTL (s, 600), DEVICE_INTERVAL (s, unset = no "interval"),
//      SLOW_DOWN_FIRST=1 (first token poll per device_code gets slow_down), MAX_LIFETIME (s, 300).
//      DPOP_NONCE=1: every DPoP proof must carry a server nonce (use_dpop_nonce otherwise).
//      The public client `dpop-cli` must prove possession (dpop_bound_access_tokens, RFC 9449).
//      CODE_CLIENT_ID + CODE_CLIENT_REDIRECT_URI: also register an authorization-code client with
//      that one redirect URI and PKCE (S256) required; CODE_CLIENT_SECRET: its secret
//      (client_secret_basic), unset = a public client (token_endpoint_auth_method none).
import * as http from 'node:http';
import * as querystring from 'node:querystring';

// oidc-provider prints notices with console.info (stdout): keep stdout for the JSON line only.
console.log = console.info = console.debug = (...args) => console.error(...args);

const num = (name, dflt) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`provider.mjs: ${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
};
const PORT = num('PORT', 0);
const DEVICE_TTL = num('DEVICE_TTL', 600);
const DEVICE_INTERVAL = num('DEVICE_INTERVAL', undefined);
const MAX_LIFETIME = num('MAX_LIFETIME', 300);
const SLOW_DOWN_FIRST = process.env.SLOW_DOWN_FIRST === '1';
const DPOP_NONCE = process.env.DPOP_NONCE === '1';
const CODE_CLIENT_ID = process.env.CODE_CLIENT_ID || undefined;
const CODE_CLIENT_REDIRECT_URI = process.env.CODE_CLIENT_REDIRECT_URI || undefined;
const CODE_CLIENT_SECRET = process.env.CODE_CLIENT_SECRET || undefined;
if (Boolean(CODE_CLIENT_ID) !== Boolean(CODE_CLIENT_REDIRECT_URI)) {
  console.error('provider.mjs: CODE_CLIENT_ID and CODE_CLIENT_REDIRECT_URI go together');
  process.exit(2);
}

const stop = (why, code = 0) => {
  console.error(`provider.mjs: stopping (${why})`);
  process.exit(code);
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
setTimeout(() => stop(`MAX_LIFETIME ${MAX_LIFETIME}s reached`), MAX_LIFETIME * 1000);
if (!process.stdin.isTTY) { // parent closed the pipe or died
  process.stdin.on('end', () => stop('stdin EOF'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}

const { default: Provider } = await import('oidc-provider');

// Listen first (PORT may be 0), then build the provider with the real issuer.
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.on('error', (err) => stop(`server error: ${err.message}`, 1));
await new Promise((resolve) => server.listen(PORT, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const client = (client_id, extra) => ({
  client_id,
  grant_types: [DEVICE_GRANT, 'refresh_token'],
  response_types: [],
  redirect_uris: [],
  ...extra,
});

// A web client of the authorization code flow (e.g. deviceflow-server signing users in upstream).
const codeClients = CODE_CLIENT_ID ? [{
  client_id: CODE_CLIENT_ID,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: [CODE_CLIENT_REDIRECT_URI],
  ...(CODE_CLIENT_SECRET
    ? { token_endpoint_auth_method: 'client_secret_basic', client_secret: CODE_CLIENT_SECRET }
    : { token_endpoint_auth_method: 'none' }),
}] : [];
// PKCE is required of the code client (and, as node-oidc-provider's default has it, of public clients).
const pkce = CODE_CLIENT_ID
  ? { pkce: { required: (ctx, c) => c.clientId === CODE_CLIENT_ID || c.clientAuthMethod === 'none' } }
  : {};

const provider = new Provider(issuer, {
  clients: [
    client('public-cli', { token_endpoint_auth_method: 'none' }),
    client('basic-cli', { token_endpoint_auth_method: 'client_secret_basic', client_secret: 'basic-secret' }),
    client('post-cli', { token_endpoint_auth_method: 'client_secret_post', client_secret: 'post-secret' }),
    client('dpop-cli', { token_endpoint_auth_method: 'none', dpop_bound_access_tokens: true }),
    ...codeClients,
  ],
  ...pkce,
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  features: {
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: true }, // any username/password logs in
    dPoP: {
      enabled: true,
      nonceSecret: Buffer.alloc(32, 7), // stateless nonces; a fixed secret is fine for tests
      requireNonce: () => DPOP_NONCE,
    },
  },
  ttl: { DeviceCode: DEVICE_TTL },
  issueRefreshToken: async (ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: true,
  clientBasedCORS: () => true,
  cookies: { keys: ['deviceflow-e2e-not-a-secret'] },
  findAccount: (ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, name: sub, email: `${sub}@example.test`, email_verified: true }),
  }),
});

if (DEVICE_INTERVAL !== undefined) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body.interval = DEVICE_INTERVAL;
    }
  });
}

if (SLOW_DOWN_FIRST) {
  const seen = new Set();
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token' && ctx.is('application/x-www-form-urlencoded')) {
      // Read the body here; oidc-provider then uses req.body (it logs one warning about it).
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const raw = Buffer.concat(chunks).toString('utf8');
      ctx.req.body = raw;
      const { grant_type: grantType, device_code: deviceCode } = querystring.parse(raw);
      if (grantType === DEVICE_GRANT && typeof deviceCode === 'string' && !seen.has(deviceCode)) {
        seen.add(deviceCode);
        ctx.status = 400;
        ctx.set('cache-control', 'no-store');
        if (ctx.get('origin')) { // same CORS answer the provider gives (clientBasedCORS allows all)
          ctx.set('access-control-allow-origin', ctx.get('origin'));
          ctx.vary('origin');
        }
        ctx.body = { error: 'slow_down', error_description: 'first poll is always told to slow down (SLOW_DOWN_FIRST=1)' };
        return;
      }
    }
    await next();
  });
}

handler = provider.callback();
process.stdout.write(`${JSON.stringify({ issuer, pid: process.pid })}\n`);
