// Browsers, workers and bundlers (webpack 5, Vite, esbuild, Rollup): ESM with top-level await.
// The .wasm is found next to the glue through `new URL(..., import.meta.url)`, which bundlers follow.
import init, * as wasm from './web/deviceflow_wasm.js';
import { useBinding } from './src/binding.js';

await init({ module_or_path: new URL('./web/deviceflow_wasm_bg.wasm', import.meta.url) });
useBinding(wasm);

export * from './src/index.js';
