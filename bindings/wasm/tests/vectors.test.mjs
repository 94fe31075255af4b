// Replays every tests/vectors/*.json and tests/vectors/dpop/*.json (the cross-language source
// of truth, format in tests/vectors/README.md and dpop/README.md) through the package's
// low-level API, via both Node entry points.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as esm from '../../../pkg/node.mjs';
import { replay } from './replay.mjs';

const cjs = createRequire(import.meta.url)('../../../pkg/node.cjs');
const dir = fileURLToPath(new URL('../../../tests/vectors/', import.meta.url));
const files = [
  ...readdirSync(dir).filter((f) => f.endsWith('.json')).sort(),
  ...readdirSync(`${dir}dpop/`).filter((f) => f.endsWith('.json')).sort().map((f) => `dpop/${f}`),
];

test('the vectors folder is not empty', () => {
  assert.ok(files.length > 0, `no vectors in ${dir}`);
  assert.ok(files.some((f) => f.startsWith('dpop/')), 'the DPoP vectors are replayed too');
});

for (const [entry, api] of [['import', esm], ['require', cjs]]) {
  describe(`vectors via ${entry}('deviceflow')`, () => {
    for (const file of files) {
      const vector = JSON.parse(readFileSync(dir + file, 'utf8'));
      test(`${file}: ${vector.name}`, () => replay(api, vector));
    }
  });
}
