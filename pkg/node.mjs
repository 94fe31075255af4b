// Node.js, ESM: `import { login } from 'deviceflow'`. Loads the wasm synchronously.
import { createRequire } from 'node:module';
import { useBinding } from './src/binding.js';

useBinding(createRequire(import.meta.url)('./node/deviceflow_wasm.js'));

export * from './src/index.js';
