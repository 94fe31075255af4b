// Type-checked (never run) by package.test.mjs with `tsc --noEmit` against the INSTALLED
// package: proves index.d.ts describes the API. `@ts-expect-error` lines must stay errors.
import {
  login, refresh, revoke, discover, DeviceFlow, Discovery, TokenSet, DeviceFlowError, AccessDeniedError,
  MisuseError, type Action, type ServerMetadata, type Prompt, type ErrorCode,
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
