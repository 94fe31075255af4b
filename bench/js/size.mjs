// Gzipped (level 9) size of what a browser downloads: the .wasm + wasm-bindgen glue, then the
// whole browser entry (plus the hand-written driver in pkg/src), next to oauth4webapi and
// openid-client (+ its dependencies) from tests/node_modules. All JS is measured as published
// (none of these packages ships minified code). Run after tests/suites/js.sh (or pkg build).
//   node bench/js/size.mjs
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const file = (p) => readFileSync(root + p);
const gz = (buffers) => buffers.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
const raw = (buffers) => buffers.reduce((n, b) => n + b.length, 0);
const jsUnder = (dir) => readdirSync(root + dir, { recursive: true })
  .filter((f) => f.endsWith('.js') && !f.includes('.map')).map((f) => file(`${dir}/${f}`));

if (!existsSync(`${root}pkg/web/deviceflow_wasm_bg.wasm`)) {
  console.error('pkg/web is not built: run tests/suites/js.sh (or node pkg/build.mjs) first');
  process.exit(1);
}
const wasm = file('pkg/web/deviceflow_wasm_bg.wasm');
const glue = file('pkg/web/deviceflow_wasm.js');
const driver = [file('pkg/browser.js'), ...jsUnder('pkg/src')];
const o4w = [file('tests/node_modules/oauth4webapi/build/index.js')];
const oc = [file('tests/node_modules/openid-client/build/index.js')];
const jose = jsUnder('tests/node_modules/jose/dist/webapi');

const rows = [
  ['deviceflow .wasm', [wasm]],
  ['deviceflow wasm-bindgen glue (web)', [glue]],
  ['deviceflow .wasm + glue', [wasm, glue]],
  ['deviceflow JS driver (browser.js + src/*.js)', driver],
  ['deviceflow browser total', [wasm, glue, ...driver]],
  ['oauth4webapi build/index.js', o4w],
  ['openid-client build/index.js', oc],
  ['openid-client + oauth4webapi + jose (all of jose/dist/webapi)', [...oc, ...o4w, ...jose]],
];
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log('| what | bytes | gzip -9 |\n|---|---:|---:|');
for (const [name, parts] of rows) console.log(`| ${name} | ${raw(parts)} (${kb(raw(parts))}) | ${gz(parts)} (${kb(gz(parts))}) |`);
const total = gz([wasm, glue]);
console.log(`\n.wasm + glue gzipped: ${kb(total)} (goal: at most 60 KiB) ${total <= 60 * 1024 ? 'MET' : 'NOT MET'}`);
