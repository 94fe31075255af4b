// Options → the core's configuration JSON. Keys may be camelCase (`clientId`) or the core's
// snake_case (`client_id`); both reach the core as snake_case. `params` keys are kept as given.

const snake = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function snakeKeys(object) {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) out[snake(key)] = value;
  }
  return out;
}

export function coreConfig(options) {
  if (options === null || typeof options !== 'object') return options;
  const out = snakeKeys(options);
  if (out.timing && typeof out.timing === 'object') out.timing = snakeKeys(out.timing);
  // `dpop`: `jwk` and `nonces` (keyed by origin) pass as given.
  if (out.dpop && typeof out.dpop === 'object') {
    const { jwk, nonces, ...rest } = out.dpop;
    out.dpop = { ...snakeKeys(rest), jwk, nonces };
  }
  return out;
}
