// Run by tests/dist/npm.py from a folder where the npm tarball was installed: the package as
// users get it, through its Node entry points (ESM import and CJS require), logs in against the
// issuer in argv[2] (printing {"user_code"} for the suite to approve), refreshes and revokes.
import { createRequire } from 'node:module';
import { login, refresh, revoke } from 'deviceflow';

const require = createRequire(import.meta.url);
const cjs = require('deviceflow');
const issuer = process.argv[2];
const clientId = 'deviceflow-cli';
const tokens = await login({
  issuer, clientId, scope: 'openid profile offline_access',
  onCode: (p) => console.log(JSON.stringify({ user_code: p.user_code })),
});
const fresh = await refresh({ issuer, clientId, refreshToken: tokens.refresh_token });
await revoke({ issuer, clientId, token: fresh.refresh_token, tokenTypeHint: 'refresh_token' });
console.log(JSON.stringify({
  resolved: import.meta.resolve('deviceflow'),
  cjs_login: typeof cjs.login,
  refreshed: typeof fresh.access_token === 'string' && fresh.access_token !== tokens.access_token,
}));
