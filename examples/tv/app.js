// The TV app: a web page (Tizen, webOS, set-top boxes, or any browser) that signs in with the
// OAuth 2.0 Device Authorization Grant (RFC 8628) through the `deviceflow` npm package.
// It shows a code and a QR code of verification_uri_complete, the person approves on a phone,
// the page signs in and greets them by the name /userinfo gives. Sign out revokes the tokens
// (RFC 7009). A denied or expired code is replaced by a new one.
//
// Remote control only: ◀ ▶ ▲ ▼ move between the buttons, OK (Enter) presses one; focus is
// always visible. Every string from the server is rendered with textContent, never as HTML.
//
// Configuration: config.json next to this file, {"issuer", "client_id", "scope", "app_name"}.
// The client must be public and list this page's origin in `allowed_origins` on the server.

// With a bundler: import { ... } from 'deviceflow';
import {
  login, refresh, revoke, TokenSet,
  AccessDeniedError, ExpiredTokenError, InvalidGrantError, CancelledError,
} from './pkg/browser.js';
import { qrMatrix, qrSvgPath } from './qr.js';

const $ = (id) => document.getElementById(id);
const main = $('app');
/** After this many codes in a row expire unused, wait for a button press (a TV left alone). */
const MAX_UNUSED_CODES = 3;

let config = null;
let userinfoEndpoint = null;
let flow = null; // the AbortController of the sign-in in progress
let countdown = null;
let unusedCodes = 0;
let tokens = null;

// ---------------------------------------------------------------- token storage

/**
 * Tokens are kept only where this page's origin storage allows: localStorage (per origin,
 * so the TV stays signed in across restarts) when the platform grants it, else in memory for
 * this page's life (private mode, storage disabled or full). Never in a cookie or the URL.
 */
const KEY = 'deviceflow-tv/tokens';
const store = (() => {
  let memory = null;
  let local = null;
  try {
    const probe = 'deviceflow-tv/probe';
    window.localStorage.setItem(probe, '1');
    window.localStorage.removeItem(probe);
    local = window.localStorage;
  } catch {
    local = null;
  }
  return {
    get kind() { return local ? 'local' : 'memory'; },
    load() {
      try { return local ? local.getItem(KEY) : memory; } catch { return memory; }
    },
    save(value) {
      memory = value;
      try { local?.setItem(KEY, value); } catch { local = null; } // full or revoked: memory only
    },
    clear() {
      memory = null;
      try { local?.removeItem(KEY); } catch { /* nothing stored */ }
    },
  };
})();

// ---------------------------------------------------------------- views

/** Shows one screen and focuses its first button; `notice` null hides it, undefined keeps it. */
function show(view, notice) {
  for (const v of ['loading', 'code', 'signed-in', 'error']) $(`${v}-view`).hidden = v !== view;
  main.dataset.state = view;
  main.setAttribute('aria-busy', String(view === 'loading'));
  if (notice !== undefined) {
    $('notice').textContent = notice ?? '';
    $('notice').hidden = !notice;
  }
  const first = document.querySelector(`#${view}-view [data-nav]`);
  if (first) first.focus();
}

function setButtonsDisabled(disabled) {
  for (const b of document.querySelectorAll('[data-nav]')) b.disabled = disabled;
}

function stopCountdown() {
  clearInterval(countdown);
  countdown = null;
}

function showCode(prompt, notice) {
  $('user-code').textContent = prompt.user_code;
  $('verification-uri').textContent = prompt.verification_uri;
  $('verification-host').textContent = prompt.verification_host;
  const matrix = qrMatrix(prompt.verification_uri_complete ?? prompt.verification_uri);
  const svg = $('qr');
  svg.parentElement.hidden = !matrix;
  if (matrix) {
    const side = matrix.size + 8; // 4 modules of quiet zone on each side
    svg.setAttribute('viewBox', `0 0 ${side} ${side}`);
    $('qr-bg').setAttribute('width', String(side));
    $('qr-bg').setAttribute('height', String(side));
    $('qr-path').setAttribute('d', qrSvgPath(matrix, 4));
    svg.dataset.uri = prompt.verification_uri_complete ?? prompt.verification_uri;
  }
  stopCountdown();
  const tick = () => {
    const left = Math.max(0, Math.round((prompt.expires_at - Date.now()) / 1000));
    const text = left > 0
      ? `Code expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`
      : 'Code expired';
    $('countdown').textContent = text;
  };
  tick();
  countdown = setInterval(tick, 1000);
  setButtonsDisabled(false);
  show('code', notice);
}

function showError(message) {
  stopCountdown();
  $('error-text').textContent = message;
  setButtonsDisabled(false);
  show('error', null);
}

// ---------------------------------------------------------------- the flow

/** Starts a new sign-in (cancelling one in progress), with `notice` shown above the code. */
async function startSignIn(notice = null) {
  flow?.abort();
  stopCountdown();
  const controller = new AbortController();
  flow = controller;
  show('loading');
  try {
    const fresh = await login({
      issuer: config.issuer,
      clientId: config.client_id,
      scope: config.scope,
      signal: controller.signal,
      onCode: (prompt) => showCode(prompt, notice),
    });
    if (flow !== controller) return;
    unusedCodes = 0;
    await signedIn(fresh);
  } catch (e) {
    if (flow !== controller || e instanceof CancelledError) return;
    if (e instanceof AccessDeniedError) {
      unusedCodes = 0;
      startSignIn('Sign-in was declined on the phone. Here is a new code.');
    } else if (e instanceof ExpiredTokenError) {
      unusedCodes += 1;
      if (unusedCodes >= MAX_UNUSED_CODES) {
        showError('No one signed in for a while. Press OK for a new code.');
      } else {
        startSignIn('The code expired. Here is a new one.');
      }
    } else {
      showError(describe(e));
    }
  }
}

function describe(e) {
  if (e?.code === 'network_error') return 'The sign-in server cannot be reached. Check that the TV is online.';
  const detail = e?.error_description ?? e?.message ?? String(e);
  return `Sign-in failed (${e?.code ?? 'error'}): ${detail}`;
}

/** Keeps the tokens, asks /userinfo who signed in, and shows them. */
async function signedIn(fresh) {
  tokens = fresh;
  store.save(fresh.serialize());
  let user = await userinfo(fresh);
  if (user === 'invalid' && fresh.refresh_token) {
    tokens = await refresh({ issuer: config.issuer, clientId: config.client_id, refreshToken: fresh.refresh_token });
    store.save(tokens.serialize());
    user = await userinfo(tokens);
  }
  if (user === 'invalid') throw new InvalidGrantError('the access token was refused');
  stopCountdown();
  $('user-name').textContent = user?.name ?? user?.preferred_username ?? user?.sub ?? 'there';
  $('token-expiry').textContent = tokens.expires_at
    ? new Date(tokens.expires_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : 'the server says';
  $('storage-note').textContent = store.kind === 'local'
    ? 'This TV stays signed in (tokens kept in this page’s own storage).'
    : 'Signed in until this page closes (this platform gives the page no storage).';
  setButtonsDisabled(false);
  show('signed-in', null);
}

/** The userinfo claims, `'invalid'` when the token is refused, or null when there is none. */
async function userinfo(t) {
  if (!userinfoEndpoint) return null;
  const res = await fetch(userinfoEndpoint, {
    headers: { Authorization: `Bearer ${t.access_token}`, Accept: 'application/json' },
    credentials: 'omit',
    cache: 'no-store',
    signal: AbortSignal.timeout(15_000),
  });
  if (res.status === 401) return 'invalid';
  if (!res.ok) return null;
  const claims = await res.json();
  return claims && typeof claims === 'object' ? claims : null;
}

async function signOut() {
  setButtonsDisabled(true);
  const current = tokens;
  tokens = null;
  store.clear();
  let told = true;
  for (const [token, hint] of [[current?.refresh_token, 'refresh_token'], [current?.access_token, 'access_token']]) {
    if (!token) continue;
    try {
      await revoke({ issuer: config.issuer, clientId: config.client_id, token, tokenTypeHint: hint });
    } catch {
      told = false;
    }
  }
  startSignIn(told ? 'Signed out.' : 'Signed out on this TV (the server could not be told).');
}

async function refreshNow() {
  if (!tokens?.refresh_token) return;
  setButtonsDisabled(true);
  try {
    await signedIn(await refresh({ issuer: config.issuer, clientId: config.client_id, refreshToken: tokens.refresh_token }));
    $('notice').textContent = 'Refreshed.';
    $('notice').hidden = false;
    $('refresh').focus();
  } catch (e) {
    if (e instanceof InvalidGrantError) {
      store.clear();
      startSignIn('Your sign-in has ended. Sign in again.');
    } else {
      showError(describe(e));
    }
  }
}

// ---------------------------------------------------------------- remote control

const MOVES = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

document.addEventListener('keydown', (e) => {
  if (!(e.key in MOVES)) return;
  const buttons = [...document.querySelectorAll('.view:not([hidden]) [data-nav]')].filter((b) => !b.disabled);
  if (buttons.length === 0) return;
  e.preventDefault();
  const at = buttons.indexOf(document.activeElement);
  const next = at < 0 ? 0 : Math.min(buttons.length - 1, Math.max(0, at + MOVES[e.key]));
  buttons[next].focus();
});

$('new-code').addEventListener('click', () => { unusedCodes = 0; startSignIn(null); });
$('retry').addEventListener('click', () => { unusedCodes = 0; startSignIn(null); });
$('sign-out').addEventListener('click', signOut);
$('refresh').addEventListener('click', refreshNow);

// ---------------------------------------------------------------- start

async function boot() {
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    config = await res.json();
    if (typeof config?.issuer !== 'string' || typeof config?.client_id !== 'string') throw new Error('config.json needs "issuer" and "client_id"');
    if (config.app_name) document.title = `Sign in · ${config.app_name}`;
    const meta = await fetch(`${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(15_000),
    }).then((r) => (r.ok ? r.json() : {}), () => ({}));
    userinfoEndpoint = typeof meta.userinfo_endpoint === 'string' ? meta.userinfo_endpoint : null;
  } catch (e) {
    showError(`This app is not set up: ${e.message}`);
    return;
  }
  const saved = store.load();
  if (saved) {
    try {
      let t = TokenSet.deserialize(saved);
      if (t.needsRefresh() && t.refresh_token) {
        t = await refresh({ issuer: config.issuer, clientId: config.client_id, refreshToken: t.refresh_token });
      }
      if (!t.isExpired()) {
        await signedIn(t);
        return;
      }
    } catch {
      // A dead or unreadable sign-in: start over.
    }
    store.clear();
  }
  startSignIn(null);
}

boot();
