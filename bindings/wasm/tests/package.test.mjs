// The npm package as a user gets it: `npm pack`, `npm install` the tarball into a fresh project,
// use it from ESM and CommonJS, and type-check a usage file against its .d.ts with tsc.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PKG = fileURLToPath(new URL('../../../pkg/', import.meta.url));
const TSC = fileURLToPath(new URL('../../../tests/node_modules/.bin/tsc', import.meta.url));
const USAGE = fileURLToPath(new URL('./types/usage.ts', import.meta.url));
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

let dir, packed;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'deviceflow-user-'));
  [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], PKG));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, version: '1.0.0', type: 'module' }));
  npm(['install', '--ignore-scripts', join(dir, packed.filename)], dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const node = (file, source) => {
  writeFileSync(join(dir, file), source);
  return execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8' }).trim();
};

const SCRIPT = `
  const flow = new DeviceFlow({ clientId: 'c', issuer: 'https://as.example' }, 0);
  const send = flow.pollAction(0);
  let error;
  try { flow.handleResponse(99, { status: 200 }); } catch (e) { error = e; }
  console.log(JSON.stringify({ url: send.url, login: typeof login, misuse: error instanceof MisuseError && error.code }));`;

test('the tarball holds the built package and nothing else', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'index.d.ts', 'node.mjs', 'node.cjs', 'browser.js', 'dist/deviceflow.cjs',
    'dist/index.d.cts', 'node/deviceflow_wasm.js', 'node/deviceflow_wasm_bg.wasm', 'web/deviceflow_wasm.js', 'web/deviceflow_wasm_bg.wasm',
    'web/browser.min.js']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  assert.deepEqual(files.filter((f) => /build\.mjs|test|\.ts$/.test(f) && !f.endsWith('.d.ts')), []);
  assert.ok(readdirSync(join(dir, 'node_modules/deviceflow')).includes('package.json'));
});

test('import from a fresh project (Node ESM)', () => {
  const out = JSON.parse(node('esm.mjs', `import { DeviceFlow, MisuseError, login } from 'deviceflow';${SCRIPT}`));
  assert.deepEqual(out, { url: 'https://as.example/.well-known/openid-configuration', login: 'function', misuse: 'unknown_request' });
});

test('require from a fresh project (Node CommonJS)', () => {
  const out = JSON.parse(node('cjs.cjs', `const { DeviceFlow, MisuseError, login } = require('deviceflow');${SCRIPT}`));
  assert.deepEqual(out, { url: 'https://as.example/.well-known/openid-configuration', login: 'function', misuse: 'unknown_request' });
});

test('tsc --noEmit accepts typed usage and rejects the mistakes', () => {
  // usage.ts resolves the package's ESM types (`import` condition), usage.cts its CommonJS ones.
  copyFileSync(USAGE, join(dir, 'usage.ts'));
  copyFileSync(USAGE, join(dir, 'usage.cts'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] },
    files: ['usage.ts', 'usage.cts'],
  }));
  try {
    execFileSync(TSC, ['-p', dir], { encoding: 'utf8' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
  // The check has teeth: a wrong use of the types fails.
  writeFileSync(join(dir, 'bad.ts'), `import { login } from 'deviceflow';\nexport async function f() { const n: number = await login({ clientId: 'c', issuer: 'https://a' }); }\n`);
  writeFileSync(join(dir, 'tsconfig.bad.json'), JSON.stringify({ extends: './tsconfig.json', files: ['bad.ts'] }));
  assert.throws(() => execFileSync(TSC, ['-p', join(dir, 'tsconfig.bad.json')], { encoding: 'utf8', stdio: 'pipe' }),
    (e) => /bad\.ts.*TS2322/s.test(e.stdout) && !/TS1378|TS2307/.test(e.stdout));
});
