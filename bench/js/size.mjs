// Gzipped (level 9) size of what a browser downloads for `import 'deviceflow'`: the shipped
// layout, pkg/web/browser.min.js (browser.js + src/*.js + the wasm-bindgen glue, bundled and
// minified by pkg/build.mjs) and the .wasm it fetches, each gzipped on its own as a server sends
// them (as pkg/size.mjs counts them). Next to it, oauth4webapi and openid-client (+ jose) from
// tests/node_modules, as published and also minified by the same esbuild, for a like-for-like
// comparison. Run after tests/suites/js.sh (or node pkg/build.mjs).
//   node bench/js/size.mjs
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const file = (p) => readFileSync(root + p);
const gz = (buffers) => buffers.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0);
const raw = (buffers) => buffers.reduce((n, b) => n + b.length, 0);
const jsUnder = (dir) => readdirSync(root + dir, { recursive: true })
  .filter((f) => f.endsWith('.js') && !f.includes('.map')).map((f) => file(`${dir}/${f}`));
const esbuild = createRequire(`${root}tests/package.json`)('esbuild');
const minify = (buffers) => buffers.map((b) => Buffer.from(esbuild.transformSync(b.toString(), { minify: true, format: 'esm' }).code));

for (const built of ['pkg/web/deviceflow_wasm_bg.wasm', 'pkg/web/browser.min.js']) {
  if (!existsSync(root + built)) {
    console.error(`${built} is missing: run tests/suites/js.sh (or node pkg/build.mjs) first`);
    process.exit(1);
  }
}
const wasm = file('pkg/web/deviceflow_wasm_bg.wasm');
const bundle = file('pkg/web/browser.min.js');
const o4w = [file('tests/node_modules/oauth4webapi/build/index.js')];
const oc = [file('tests/node_modules/openid-client/build/index.js')];
const jose = jsUnder('tests/node_modules/jose/dist/webapi');

const rows = [
  ['deviceflow web/deviceflow_wasm_bg.wasm', [wasm]],
  ['deviceflow web/browser.min.js (JS + glue)', [bundle]],
  ['**deviceflow browser entry (both)**', [wasm, bundle]],
  ['oauth4webapi build/index.js', o4w],
  ['oauth4webapi build/index.js, minified', minify(o4w)],
  ['openid-client build/index.js', oc],
  ['openid-client + oauth4webapi, minified', minify([...oc, ...o4w])],
  ['openid-client + oauth4webapi + jose (all of jose/dist/webapi)', [...oc, ...o4w, ...jose]],
];
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log('| what | bytes | gzip -9 |\n|---|---:|---:|');
for (const [name, parts] of rows) console.log(`| ${name} | ${raw(parts)} (${kb(raw(parts))}) | ${gz(parts)} (${kb(gz(parts))}) |`);
const total = gz([wasm, bundle]);
console.log(`\nbrowser entry gzipped: ${total} B (${kb(total)}); aim at most 25 KB (25,000 B): ${total <= 25000 ? 'MET' : 'NOT MET'}`);
