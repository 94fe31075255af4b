// Replays one vector (tests/vectors/README.md) through the package's low-level API: shared by
// vectors.test.mjs and trap.test.mjs.
import assert from 'node:assert/strict';

const OPERATIONS = { device_flow: 'DeviceFlow', discovery: 'Discovery', refresh: 'Refresh', revocation: 'Revocation' };

/** The action in the vectors' JSON shape (done/failed flattened, send with its secrets). */
function actionJson(action) {
  switch (action.type) {
    case 'send': {
      const { type, id, method, url, headers, body, timeout_ms } = action;
      return { type, id, method, url, headers, body, timeout_ms };
    }
    case 'done': {
      const r = action.result;
      return { type: 'done', ...(typeof r.serialize === 'function' ? JSON.parse(r.serialize()) : r) };
    }
    case 'failed': {
      const { code, message, error, error_description, error_uri, status } = action.error;
      return { type: 'failed', code, message, error, error_description, error_uri, status };
    }
    default:
      return action;
  }
}

/** `expected` ⊆ `actual`, as core/tests/vectors.rs `subset`. */
function subset(expected, actual, path) {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
    }
    for (const [k, ev] of Object.entries(expected)) {
      const av = actual[k] ?? null;
      if (k === 'headers' && ev !== null && typeof ev === 'object' && !Array.isArray(ev) && Array.isArray(av)) {
        for (const [name, want] of Object.entries(ev)) {
          const got = av.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value ?? null;
          if (got !== want) throw new Error(`${path}.headers.${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
        }
      } else {
        subset(ev, av, `${path}.${k}`);
      }
    }
    return;
  }
  if (expected === null && actual === null) return;
  try {
    assert.deepStrictEqual(actual, expected);
  } catch {
    throw new Error(`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function response(spec) {
  const headers = Object.entries(spec.headers ?? {});
  let body = new Uint8Array(0);
  if ('json' in spec) {
    if (!spec.headers) headers.push(['content-type', 'application/json']);
    body = JSON.stringify(spec.json);
  } else if ('text' in spec) {
    body = spec.text;
  } else if ('base64' in spec) {
    body = new Uint8Array(Buffer.from(spec.base64, 'base64'));
  } else if ('repeat' in spec) {
    body = spec.repeat.text.repeat(spec.repeat.times);
  }
  return { status: spec.status, headers, body };
}

function checkMisuse(api, step, call) {
  let error = null;
  try {
    call();
  } catch (e) {
    error = e;
  }
  if (step.misuse === undefined) {
    if (error) throw new Error(`unexpected ${error.name} ${error.code}: ${error.message}`);
    return;
  }
  assert.ok(error instanceof api.MisuseError, `expected MisuseError ${step.misuse}, got ${error}`);
  assert.ok(error instanceof Error && error instanceof api.DeviceFlowError);
  assert.equal(error.code, step.misuse);
}

export function replay(api, vector) {
  const Cls = api[OPERATIONS[vector.operation ?? 'device_flow']];
  assert.ok(Cls, `unknown operation ${vector.operation}`);
  const start = vector.start ?? 0;
  if (vector.config_error) {
    assert.throws(() => new Cls(vector.config, start), (e) => e instanceof api.ConfigError && e.code === 'invalid_config');
    return;
  }
  const op = new Cls(vector.config, start);
  let lastId = null;
  let lastSignId = null;
  vector.steps.forEach((step, i) => {
    try {
      if ('poll' in step) {
        const action = actionJson(op.pollAction(step.poll));
        if (action.type === 'send') lastId = action.id;
        if (action.type === 'sign') lastSignId = action.id;
        try {
          subset(step.expect, action, 'action');
        } catch (e) {
          e.message += `\n  actual: ${JSON.stringify(action)}`;
          throw e;
        }
      } else if ('respond' in step) {
        const r = step.respond;
        checkMisuse(api, step, () => op.handleResponse(r.id ?? lastId, response(r), r.now));
      } else if ('transport_error' in step) {
        const t = step.transport_error;
        checkMisuse(api, step, () => op.handleTransportError(t.id ?? lastId, t.kind, t.now));
      } else if ('sign' in step) {
        const s = step.sign;
        const signature = new Uint8Array(Buffer.from(s.raw_hex ?? s.der_hex, 'hex'));
        checkMisuse(api, step, () => op.handleSignature(s.id ?? lastSignId, signature, s.now));
      } else if ('cancel' in step) {
        checkMisuse(api, step, () => op.cancel(step.cancel));
      } else {
        throw new Error(`unknown step ${JSON.stringify(step)}`);
      }
    } catch (e) {
      e.message = `step ${i}: ${e.message}`;
      throw e;
    }
  });
  op.free();
}
