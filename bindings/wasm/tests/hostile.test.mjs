// Every case of the shared hostile-server suite (tests/hostile/) through the package's
// `login()`: the outcome code each case names, within its time budget, with nothing unsafe
// reaching onCode, and no timer left behind. Cases marked `defaults` run with login()'s own
// defaults (no timing, no timeoutMs): one request deadline (30 s) at most, not one per attempt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHostile, RUN_OPTIONS, isSafeText } from '../../../tests/hostile/harness.mjs';
import { login, DeviceFlowError } from '../../../pkg/node.mjs';

let hostile;
before(async () => { hostile = await startHostile(); });
after(() => hostile?.stop());

test('the hostile suite has its cases', () => {
  assert.ok(hostile.cases.length >= 35, `only ${hostile.cases.length} cases`);
});

const names = (await import('../../../tests/hostile/cases.mjs')).cases.map((c) => c.name);
test('hostile servers (all cases at once)', { concurrency: true }, async (t) => {
 await Promise.all(names.map((name) => t.test(name, async () => {
    const c = hostile.cases.find((x) => x.name === name);
    const base = `${hostile.base}/js/${name}`;
    const prompts = [];
    const started = Date.now();
    let outcome;
    try {
      const shortened = c.defaults ? {} : { timing: RUN_OPTIONS.timing, timeoutMs: RUN_OPTIONS.timeout_ms };
      const tokens = await login({
        clientId: 'hostile-client',
        deviceAuthorizationEndpoint: `${base}/device`,
        tokenEndpoint: `${base}/token`,
        ...shortened,
        onCode: (p) => prompts.push(p),
      });
      assert.equal(tokens.access_token, 'hostile-access-token-0123456789');
      outcome = 'done';
    } catch (e) {
      assert.ok(e instanceof DeviceFlowError, `not a DeviceFlowError: ${e?.stack ?? e}`);
      outcome = e.code;
    }
    const took = Date.now() - started;
    assert.ok(c.expect.includes(outcome), `${c.about}: expected ${c.expect.join(' or ')}, got ${outcome}`);
    assert.ok(took < c.budget_ms, `${name} took ${took} ms (budget ${c.budget_ms} ms)`);
    if (c.defaults) console.log(`# ${name} (default timing): ${outcome} after ${took} ms`);
    for (const p of prompts) {
      for (const text of [p.user_code, p.verification_uri, p.verification_uri_complete, p.message]) {
        assert.ok(text == null || isSafeText(text), `unsafe text shown: ${JSON.stringify(text)}`);
      }
    }
    if (outcome === 'done') assert.equal(prompts.length, 1, 'the code was shown once');
    if (name === 'unsafe_message') assert.match(prompts[0].message, /Go to .*example and enter the code/);
 })));
});
