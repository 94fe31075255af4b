// Helpers for JS end-to-end tests (Node): start/stop provider.mjs, talk to its endpoints.
//   import { startProvider } from '../e2e/harness.mjs';
//   const op = await startProvider({ DEVICE_INTERVAL: '1' });  // -> { issuer, pid, child, exited, stdout(), stderr(), stop() }
//   ... await op.stop();
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PROVIDER = fileURLToPath(new URL('./provider.mjs', import.meta.url));
export const APPROVE = fileURLToPath(new URL('./approve.mjs', import.meta.url));
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Spawn provider.mjs (stdin piped, so it dies with us) and wait for its JSON line. */
export async function startProvider(env = {}, { timeoutMs = 20_000 } = {}) {
  const child = spawn(process.execPath, [PROVIDER], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stdin.on('error', () => {}); // EPIPE if it is already gone
  child.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
  // resolves [code, signal] when the child is gone (never rejects)
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve([code, signal]));
    child.on('error', (e) => resolve([null, String(e)]));
  });
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.stdin.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const line = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`provider.mjs printed no JSON line within ${timeoutMs} ms`)), timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (d) => {
        out += d;
        if (out.includes('\n')) { clearTimeout(timer); resolve(out.slice(0, out.indexOf('\n'))); }
      });
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`provider.mjs exited early (${code ?? sig})`)); });
    });
    const { issuer, pid } = JSON.parse(line);
    return { issuer, pid, child, exited, stdout: () => out, stderr: () => err, stop };
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n--- provider stderr ---\n${err}`);
  }
}

/** POST a form; returns { status, body (parsed JSON or null), headers }. */
export async function postForm(url, form, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(Object.entries(form).filter(([, v]) => v != null)),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON (e.g. empty revocation answer) */ }
  return { status: res.status, body, headers: res.headers };
}

export const basicAuth = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
