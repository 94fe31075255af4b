// Node.js, CommonJS: `const { login } = require('deviceflow')`. dist/deviceflow.cjs is
// src/*.js joined into one CommonJS file by build.mjs.
'use strict';
const api = require('./dist/deviceflow.cjs');

api.useBinding(require('./node/deviceflow_wasm.js'));
delete api.useBinding;
module.exports = api;
