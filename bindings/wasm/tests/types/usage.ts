// Type-checked (never run) by package.test.mjs with `tsc --noEmit` against the INSTALLED
// package: proves index.d.ts describes the API. `@ts-expect-error` lines must stay errors.
import {
  login, refresh, revoke, discover, DeviceFlow, Discovery, TokenSet, DeviceFlowError, AccessDeniedError,
  MisuseError, generateDpopKey, dpopHeaders, dpopFetch, type Action, type ServerMetadata, type Prompt,
  type ErrorCode, type DpopOptions, type DpopHeaders,
} from 'deviceflow';

export async function highLevel(signal: AbortSignal): Promise<string> {
  const meta: ServerMetadata = await discover({ issuer: 'https://as.example' });
  try {
    const tokens: TokenSet = await login({
      issuer: meta.issuer,
      clientId: 'cli',
      scope: 'openid offline_access',
      signal,
      timeoutMs: 10_000,
      onCode: (prompt) => console.log(prompt.verification_uri, prompt.user_code, prompt.verification_host),
    });
    if (tokens.needsRefresh() && tokens.refresh_token) {
      const renewed = await refresh({ issuer: meta.issuer, clientId: 'cli', refreshToken: tokens.refresh_token });
      await revoke({ issuer: meta.issuer, clientId: 'cli', token: renewed.access_token, tokenTypeHint: 'access_token' });
    }
    const stored: string = tokens.serialize();
    return TokenSet.deserialize(stored).access_token;
  } catch (e) {
    if (e instanceof AccessDeniedError) return e.code; // 'access_denied'
    if (e instanceof DeviceFlowError) {
      const code: ErrorCode = e.code;
      return `${code} ${e.error_description ?? ''} ${e.requiresLogin}`;
    }
    throw e;
  }
}

export function lowLevel(respond: (url: string) => { status: number; body: string }): TokenSet | DeviceFlowError | null {
  const flow = new DeviceFlow({ clientId: 'cli', deviceAuthorizationEndpoint: 'https://as.example/d', tokenEndpoint: 'https://as.example/t' });
  for (let i = 0; i < 10; i++) {
    const action: Action = flow.pollAction(Date.now());
    switch (action.type) {
      case 'send': {
        const r = respond(action.url);
        flow.handleResponse(action.id, { status: r.status, headers: { 'content-type': 'application/json' }, body: r.body });
        break;
      }
      case 'display': {
        const prompt: Prompt = action;
        console.log(prompt.user_code, action.verification_uri_complete?.length);
        break;
      }
      case 'wait':
        console.log(action.delay_ms, action.reason === 'slow_down');
        break;
      case 'awaiting_response':
        console.log(action.id);
        break;
      case 'done':
        return action.result;
      case 'failed':
        return action.error;
    }
  }
  try {
    flow.cancel();
  } catch (e) {
    if (e instanceof MisuseError) console.log(e.code === 'finished');
  }
  const discovery = new Discovery({ issuer: 'https://as.example' });
  const first = discovery.pollAction();
  if (first.type === 'done') console.log(first.result.token_endpoint);
  return null;
}

export async function withDpop(issuer: string): Promise<number> {
  const key: CryptoKeyPair = await generateDpopKey();
  const dpop: DpopOptions = { key };
  const tokens = await login({ issuer, clientId: 'cli', dpop });
  const renewed = await refresh({ issuer, clientId: 'cli', refreshToken: tokens.refresh_token ?? '', dpop });
  await revoke({ issuer, clientId: 'cli', token: renewed.access_token, dpop });
  const headers: DpopHeaders = await dpopHeaders({ method: 'POST', url: `${issuer}/api`, accessToken: renewed.access_token, key, nonce: dpop.nonces?.[issuer] });
  const signer = { jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } as const, sign: async (data: Uint8Array) => data };
  await dpopHeaders({ url: `${issuer}/api`, accessToken: 'a', key: signer });
  const res = await dpopFetch(`${issuer}/api`, { accessToken: renewed.access_token, key, headers: { accept: 'application/json' } });
  const next: string | null = res.dpopNonce;
  const flow = new DeviceFlow({ clientId: 'cli', issuer, dpop: { jwk: signer.jwk, entropy: 'AAECAwQFBgcICQoLDA0ODw', deviceRequest: false } });
  const action = flow.pollAction();
  if (action.type === 'sign') flow.handleSignature(action.id, await signer.sign(new TextEncoder().encode(action.input)));
  console.log(headers.Authorization, next, flow.dpopNonces());
  // @ts-expect-error the key is required
  await dpopHeaders({ url: issuer, accessToken: 'a' });
  return res.status;
}

export function mistakes(action: Action): void {
  // @ts-expect-error user_code exists only on the display action
  console.log(action.user_code);
  // @ts-expect-error clientId is required
  void login({ issuer: 'https://as.example' });
  // @ts-expect-error 'sleep' is not an action type
  if (action.type === 'sleep') console.log(action);
  // @ts-expect-error tokens are read-only
  new TokenSet({ access_token: 'a', token_type: 'Bearer' }).access_token = 'b';
  // @ts-expect-error the transport error kind is a closed set
  new DeviceFlow({ clientId: 'c', issuer: 'https://a' }).handleTransportError(1, 'dns');
}
