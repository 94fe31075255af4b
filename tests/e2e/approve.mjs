#!/usr/bin/env node
// Plays the end user against node-oidc-provider's own pages, like a browser without JavaScript:
// device page (enter the user code) -> confirmation ("Continue" or "[ Abort ]") -> login
// (devInteractions: any username/password) -> consent -> "Sign-in Success".
//
//   node tests/e2e/approve.mjs --issuer URL --user-code CODE [--deny] [--username alice] [--verification-uri URL]
//   import { approve } from './approve.mjs'; await approve({ issuer, userCode, deny, username, verificationUri });
//
// CLI: prints {"ok":true,"action":"approved"|"denied"} and exits 0; on failure a message on stderr, exit 1.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const MAX_STEPS = 20;
const REQUEST_TIMEOUT_MS = 15_000;

// ---- tiny HTML helpers (the provider's pages are small and regular) ----
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
const decode = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
  if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  return ENTITIES[e.toLowerCase()] ?? m;
});
const attrs = (tag) => {
  const out = {};
  for (const [, name, dq, sq, bare] of tag.matchAll(/([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g)) {
    out[name.toLowerCase()] = decode(dq ?? sq ?? bare ?? '');
  }
  return out;
};
const text = (html) => decode(html.replace(/<(style|script)\b[\s\S]*?<\/\1>|<[^>]*>/gi, ' ')).replace(/\s+/g, ' ').trim();
const title = (html) => text(html.match(/<title[^>]*>([\s\S]*?)<\/title>/i)?.[1] ?? '');

function parseForms(html) {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, open, inner]) => {
    const a = attrs(open);
    const tags = (name) => [...inner.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'gi'))].map(([, t]) => attrs(t));
    return {
      id: a.id, action: a.action ?? '', method: (a.method ?? 'get').toLowerCase(),
      inputs: tags('input').filter((i) => i.name),
      buttons: tags('button').filter((b) => !b.form),
    };
  });
  // Buttons may sit outside their form and point at it with form="id" (the device pages do this).
  for (const [, t] of html.matchAll(/<button\b([^>]*)>/gi)) {
    const b = attrs(t);
    if (b.form) forms.find((f) => f.id === b.form)?.buttons.push(b);
  }
  return forms;
}
const fields = (form) => Object.fromEntries(form.inputs.map((i) => [i.name, i.value ?? '']));
const redMessage = (html) => text(html.match(/<p class="red">([\s\S]*?)<\/p>/i)?.[1] ?? '');
const normalizeCode = (code) => String(code).toUpperCase().replace(/\W/g, '');

// ---- a browser-ish HTTP client: cookie jar (name+path), manual redirects ----
function makeBrowser(log) {
  const jar = new Map(); // "name\tpath" -> {name, value, path}
  const store = (res, url) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...params] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const p of params) {
        const [k, v = ''] = p.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (expired) jar.delete(`${name}\t${path}`);
      else jar.set(`${name}\t${path}`, { name, value, path });
    }
  };
  const cookieHeader = (url) => [...jar.values()]
    .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
    .sort((a, b) => b.path.length - a.path.length)
    .map((c) => `${c.name}=${c.value}`).join('; ');

  return async function navigate(url, form) {
    let method = form ? 'POST' : 'GET';
    let body = form ? new URLSearchParams(form).toString() : undefined;
    url = new URL(url);
    for (let hop = 0; hop < 10; hop += 1) {
      const headers = { accept: 'text/html', 'user-agent': 'deviceflow-e2e-approve' };
      const cookie = cookieHeader(url);
      if (cookie) headers.cookie = cookie;
      if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
      log(`${method} ${url.pathname}${url.search}`);
      const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
        .catch((e) => { throw new Error(`approve: ${method} ${url} failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`); });
      store(res, url);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        url = new URL(location, url);
        if (res.status !== 307 && res.status !== 308) { method = 'GET'; body = undefined; }
        continue;
      }
      return { url, status: res.status, html: await res.text() };
    }
    throw new Error(`too many redirects (last: ${url})`);
  };
}

/**
 * Approve (or deny) a pending device authorization as the end user would.
 * Resolves to {ok:true, action:'approved'|'denied'}; rejects with an Error saying what went wrong.
 */
export async function approve({ issuer, userCode, deny = false, username = 'alice', verificationUri, verbose = false } = {}) {
  if (!issuer && !verificationUri) throw new Error('approve: issuer or verificationUri is required');
  if (!userCode) throw new Error('approve: userCode is required');
  const trail = [];
  const log = (line) => { trail.push(line); if (verbose) console.error(`approve: ${line}`); };
  const fail = (msg, page) => {
    const detail = page ? `\n  page: ${page.status} ${page.url} "${title(page.html)}": ${text(page.html).slice(0, 300)}` : '';
    return new Error(`approve: ${msg}${detail}\n  steps: ${trail.join(' -> ')}`);
  };
  const navigate = makeBrowser(log);
  const submit = (page, form, values) => navigate(new URL(form.action || page.url, page.url), values);

  let page = await navigate(verificationUri ?? new URL('/device', issuer));
  let codeEntered = false;
  let confirmed = false;
  let loggedIn = false;
  for (let step = 0; step < MAX_STEPS; step += 1) {
    const forms = parseForms(page.html);
    const byId = (id) => forms.find((f) => f.id === id);
    const byPrompt = (name) => forms.find((f) => f.inputs.some((i) => i.name === 'prompt' && i.value === name));
    const pageTitle = title(page.html);

    if (byId('op.deviceInputForm')) { // code entry page (also shown again after abort or on error)
      const form = byId('op.deviceInputForm');
      const msg = redMessage(page.html);
      if (confirmed && deny && /interrupted/i.test(msg)) return { ok: true, action: 'denied' };
      if (codeEntered) throw fail(`the device page did not accept user code ${userCode}: ${msg || '(no message)'}`, page);
      if (!form.inputs.some((i) => i.name === 'xsrf')) throw fail('code entry form has no xsrf field', page);
      codeEntered = true;
      page = await submit(page, form, { ...fields(form), user_code: userCode });
    } else if (byId('op.deviceConfirmForm')) { // "Confirm Device": Continue, or [ Abort ] (name=abort)
      const form = byId('op.deviceConfirmForm');
      const shown = page.html.match(/<code>([^<]*)<\/code>/i)?.[1];
      if (shown && normalizeCode(decode(shown)) !== normalizeCode(userCode)) {
        throw fail(`confirmation page shows code ${shown}, expected ${userCode}`, page);
      }
      const values = fields(form);
      if (deny) {
        const abort = form.buttons.find((b) => b.name === 'abort');
        if (!abort) throw fail('confirmation page has no abort button', page);
        values.abort = abort.value ?? '';
      }
      codeEntered = true;
      confirmed = true;
      page = await submit(page, form, values);
    } else if (byPrompt('login')) { // devInteractions login: any login/password
      if (deny) throw fail('got a login page after aborting', page);
      if (loggedIn) throw fail('login page shown again after logging in', page);
      const form = byPrompt('login');
      loggedIn = true;
      page = await submit(page, form, { ...fields(form), login: username, password: 'any-password' });
    } else if (byPrompt('consent')) {
      if (deny) throw fail('got a consent page after aborting', page);
      const form = byPrompt('consent');
      page = await submit(page, form, fields(form));
    } else if (/sign-in success/i.test(pageTitle)) {
      if (deny) throw fail('the sign-in succeeded although --deny was given', page);
      if (!confirmed) throw fail('success page reached without confirming the code', page);
      return { ok: true, action: 'approved' };
    } else if (forms.length === 1 && forms[0].method === 'post'
      && forms[0].inputs.every((i) => i.type === 'hidden')) {
      // Auto-submitting page (e.g. verification_uri_complete): a browser's script would post it.
      page = await submit(page, forms[0], fields(forms[0]));
    } else {
      throw fail(`unexpected page${/oops/i.test(pageTitle) ? ' (provider error)' : ''}`, page);
    }
  }
  throw fail(`no result after ${MAX_STEPS} pages`, page);
}

async function main() {
  const usage = 'usage: node approve.mjs --issuer URL --user-code CODE [--deny] [--username alice] [--verification-uri URL] [--verbose]';
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        issuer: { type: 'string' },
        'user-code': { type: 'string' },
        deny: { type: 'boolean', default: false },
        username: { type: 'string', default: 'alice' },
        'verification-uri': { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    console.error(`${err.message}\n${usage}`);
    process.exit(1);
  }
  if (values.help) { console.log(usage); return; }
  if ((!values.issuer && !values['verification-uri']) || !values['user-code']) {
    console.error(`--issuer (or --verification-uri) and --user-code are required\n${usage}`);
    process.exit(1);
  }
  try {
    const result = await approve({
      issuer: values.issuer,
      userCode: values['user-code'],
      deny: values.deny,
      username: values.username,
      verificationUri: values['verification-uri'],
      verbose: values.verbose,
    });
    console.log(JSON.stringify(result));
  } catch (err) {
    console.error(err?.message ?? String(err));
    process.exit(1);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
