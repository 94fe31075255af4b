// The wasm-bindgen module (`Machine`, `errorCodes`) this package drives. Each entry point
// (node.mjs, node.cjs, browser.js) loads the build for its runtime and hands it over here.
let raw = null;

export function useBinding(module) {
  raw = module;
}

export function binding() {
  if (raw === null) throw new Error('deviceflow: the WebAssembly module is not loaded (import the package entry point, not src/)');
  return raw;
}
