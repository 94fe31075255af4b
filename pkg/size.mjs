// The download size of the browser entry, gzipped (level 9): web/browser.min.js (browser.js,
// src/*.js and the wasm-bindgen glue, bundled and minified by build.mjs) plus the .wasm it
// fetches. Prints one line per part and fails when the total is above the limit.
//   node pkg/size.mjs <limit in bytes>        (run by tests/suites/js.sh after the build)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const limit = Number(process.argv[2]);
if (!Number.isInteger(limit) || limit <= 0) throw new Error('usage: node pkg/size.mjs <limit in bytes>');
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const file = (p) => readFileSync(join(here, p));
const esbuild = createRequire(join(here, '../tests/package.json'))('esbuild');
const minified = (path) => Buffer.from(esbuild.transformSync(file(path).toString(), { minify: true, format: 'esm' }).code);

const wasm = file('web/deviceflow_wasm_bg.wasm');
const bundle = file('web/browser.min.js');
const total = gz(wasm) + gz(bundle);
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const rows = [
  ['web/deviceflow_wasm_bg.wasm', wasm],
  ['web/browser.min.js (JS + glue)', bundle],
  ['  of which: wasm-bindgen glue, minified alone', minified('web/deviceflow_wasm.js')],
];
for (const [name, bytes] of rows) console.log(`size: ${name.padEnd(48)} ${String(bytes.length).padStart(7)} B, gzip ${String(gz(bytes)).padStart(6)} B`);
console.log(`size: browser entry (wasm + browser.min.js), gzipped: ${total} B (${kb(total)}); limit ${limit} B`);
if (total > limit) {
  console.error(`size: FAIL: the browser entry grew to ${total} B gzipped, above the limit of ${limit} B`);
  process.exit(1);
}
