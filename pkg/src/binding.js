// The wasm-bindgen module (`Machine`, `DpopProofs`, `errorCodes`) this package drives. Each
// entry point (node.mjs, node.cjs, browser.js) loads the build for its runtime and hands it
// over here.
//
// Trap recovery: the module is built with `panic = "abort"`, so a bug in the engine ends in a
// WebAssembly trap and leaves that instance unusable. Every call into it goes through
// `wasmCall`: on a trap the module is instantiated afresh (wasm-bindgen's
// `__wbg_reset_state`, from the compiled module already in memory), the failing operation
// rejects with an `InternalError`, and objects made by the dead instance are refused from then
// on (the instance's number), so the next operation runs on a clean instance.
import { InternalError } from './errors.js';

let raw = null;
// The instance's number lives on the glue's `Machine` class, so that every copy of this file
// driving the same glue agrees on it (in Node, node.mjs and node.cjs share one glue).
const GENERATION = Symbol.for('deviceflow.wasmInstance');

export function useBinding(module) {
  raw = module;
}

export function binding() {
  if (raw === null) throw new Error('deviceflow: the WebAssembly module is not loaded (import the package entry point, not src/)');
  return raw;
}

/** The current instance's number: objects from an older one are dead. */
export function instanceGeneration() {
  return binding().Machine[GENERATION] ?? 0;
}

/** Calls into the module; a trap replaces the instance and becomes an `InternalError`. */
export function wasmCall(born, fn) {
  if (born !== instanceGeneration()) {
    throw new InternalError('this operation was running when the WebAssembly engine failed; start a new one');
  }
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    raw.Machine[GENERATION] = born + 1;
    raw.__wbg_reset_state();
    throw new InternalError(`the WebAssembly engine failed (${e.message}); it was restarted for the next operation`, { cause: e });
  }
}
