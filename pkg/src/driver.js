// Drives a sans-IO operation with fetch and timers until `done` or `failed`.
// Every timer and abort listener is removed on every path; an AbortSignal stops
// a wait or a request at once and the machine is cancelled (code `cancelled`).

import { CancelledError, InternalError, MisuseError } from './errors.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY = 64 * 1024;

/** Resolves after `ms`, or as soon as `signal` aborts. */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Reads at most `max + 1` bytes: one more than the core accepts, so it can refuse an oversized body. */
async function readCapped(response, max) {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let total = 0;
  try {
    while (total <= max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    if (total > max) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const body = new Uint8Array(Math.min(total, max + 1));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, body.length - at);
    body.set(part, at);
    at += part.length;
    if (at === body.length) break;
  }
  return body;
}

/** A fetch failure as the core's transport error kind. */
function transportKind(error, phase) {
  const code = String(error?.cause?.code ?? error?.code ?? '');
  if (/TIMEOUT/i.test(code)) return 'timeout';
  if (/CERT|TLS|SSL/i.test(code)) return 'tls';
  return phase === 'read' ? 'io' : 'connect';
}

async function send(op, request, context) {
  const { fetch, signal, maxBodyBytes } = context;
  // The smaller of the host's deadline and what is left of the operation's budget.
  const timeoutMs = Math.min(context.timeoutMs, request.timeout_ms ?? Infinity);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no response within ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = () => controller.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let phase = 'connect';
  try {
    const response = await fetch(request.url, {
      ...request.fetchInit(controller.signal),
      redirect: 'manual', // a redirected token request is refused, never replayed as a GET
      credentials: 'omit',
    });
    phase = 'read';
    const body = await readCapped(response, maxBodyBytes);
    op.handleResponse(request.id, { status: response.status, headers: response.headers, body });
  } catch (error) {
    if (error instanceof MisuseError) throw error;
    if (signal?.aborted) return; // the loop cancels the machine
    op.handleTransportError(request.id, timedOut ? 'timeout' : transportKind(error, phase));
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Cancels unless the machine already finished (then its result stands) or its engine failed
 * (then the InternalError already on its way says so).
 */
function cancel(op) {
  try {
    op.cancel();
  } catch (error) {
    if (!(error instanceof MisuseError || error instanceof InternalError)) throw error;
  }
}

function showCode(prompt) {
  const where = prompt.verification_uri_complete ?? prompt.verification_uri;
  console.error(`To sign in, open ${where} and enter the code ${prompt.user_code}`);
}

/**
 * Runs `op` (DeviceFlow, Discovery, Refresh or Revocation) to the end.
 * Resolves with the `done` result; rejects with the `failed` error (a DeviceFlowError).
 */
export async function drive(op, options = {}) {
  const {
    fetch = globalThis.fetch, signal, onCode = showCode,
    timeoutMs = DEFAULT_TIMEOUT_MS, maxBodyBytes = DEFAULT_MAX_BODY, dpop,
  } = options;
  const context = { fetch, signal, timeoutMs, maxBodyBytes };
  try {
    if (typeof fetch !== 'function') throw new TypeError('no fetch: pass options.fetch');
    for (;;) {
      if (signal?.aborted) {
        // Once the signal aborts, the promise rejects, even if a result arrived meanwhile.
        cancel(op);
        throw new CancelledError('cancelled by the AbortSignal', { cause: signal.reason });
      }
      const action = op.pollAction();
      switch (action.type) {
        case 'send':
          await send(op, action, context);
          break;
        case 'sign': { // DPoP: the key signs, the core builds the proof
          if (!dpop) throw new MisuseError('a DPoP signature was asked for, but no key was given', { code: 'unknown_request' });
          const signature = await dpop.sign(action.input);
          if (!signal?.aborted) op.handleSignature(action.id, signature);
          break;
        }
        case 'display':
          await onCode(action);
          break;
        case 'wait':
          await sleep(action.delay_ms, signal);
          break;
        case 'done':
          return action.result;
        case 'failed':
          throw action.error;
        default: // awaiting_response: this loop answers every send before polling again
          throw new MisuseError(`unexpected action ${action.type}`, { code: 'unknown_request' });
      }
    }
  } catch (error) {
    cancel(op);
    throw error;
  } finally {
    try {
      dpop?.keep(op.dpopNonces());
    } catch (error) {
      if (!(error instanceof InternalError)) throw error; // the engine failed: no nonces to keep
    } finally {
      op.free();
    }
  }
}
