// Starts tests/hostile/server.mjs for a JS test and hands back what it printed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export { RUN_OPTIONS } from './cases.mjs';
import { RUN_OPTIONS } from './cases.mjs';
export const BUDGET_MS = RUN_OPTIONS.budget_ms;

/** `{ base, options, cases, stop() }`; the server also stops when this process ends. */
export async function startHostile() {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./server.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`hostile server exited (${code})`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  child.removeAllListeners('exit');
  return { ...JSON.parse(line), stop: () => { child.stdin.end(); child.kill(); } };
}

/** No C0/C1 control, DEL or BiDi/invisible format character: safe to print on a terminal. */
export function isSafeText(s) {
  return !/[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/u.test(s);
}
