#!/usr/bin/env node
// Serves every case of cases.mjs on 127.0.0.1 over raw TCP (so a case can break HTTP itself).
// Prints ONE JSON line on stdout when listening, then nothing else:
//   {"base":"http://127.0.0.1:PORT","options":{...},
//    "cases":[{"name","about","expect":["code", ...],"defaults":bool,"budget_ms":N}, ...]}
// `defaults: true`: drive that case with the runtime's default timing and deadline (no
// `options.timing`, no `options.timeout_ms`); every case must end within its `budget_ms`.
// `options` is how every runner drives its login (RUN_OPTIONS in cases.mjs).
// A case lives under /<run>/<case>/: `device` (device authorization), `token`, `activate`.
// <run> is any word the runner picks, so concurrent runs keep separate poll counters.
// Stops on stdin EOF, SIGTERM/SIGINT, or after MAX_LIFETIME seconds (default 600).
import * as net from 'node:net';
import { cases, defaults, respond, RUN_OPTIONS } from './cases.mjs';

const MAX_LIFETIME = Number(process.env.MAX_LIFETIME ?? 600);
const stop = (why) => {
  console.error(`hostile/server.mjs: stopping (${why})`);
  process.exit(0);
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
setTimeout(() => stop(`MAX_LIFETIME ${MAX_LIFETIME}s reached`), MAX_LIFETIME * 1000).unref();
if (!process.stdin.isTTY) {
  process.stdin.on('end', () => stop('stdin EOF'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
}

const byName = new Map(cases.map((c) => [c.name, c]));
const polls = new Map(); // "<run>/<case>" -> token requests so far

/** Reads one request (head + Content-Length body) from the socket, then calls `done`. */
function readRequest(socket, done) {
  let buf = Buffer.alloc(0);
  const onData = (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buf.length > 65536) socket.destroy();
      return;
    }
    const head = buf.subarray(0, end).toString('latin1').split('\r\n');
    const [method, path] = head[0].split(' ');
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + length) return;
    socket.off('data', onData);
    done({ method, path, headers, body: buf.subarray(end + 4, end + 4 + length).toString() });
  };
  socket.on('data', onData);
}

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  readRequest(socket, (req) => {
    const [, run, name, endpoint] = (req.path ?? '').split('?')[0].split('/');
    const c = byName.get(name);
    req.base = `http://127.0.0.1:${server.address().port}/${run}/${name}`;
    if (!c || !['device', 'token', 'activate'].includes(endpoint)) {
      return respond(socket, 404, { 'content-type': 'text/plain' }, `no such case: ${req.path}`);
    }
    if (endpoint === 'activate') {
      return respond(socket, 200, { 'content-type': 'text/html' }, '<p>Enter the code.</p>');
    }
    if (endpoint === 'token') {
      const key = `${run}/${name}`;
      req.poll = polls.get(key) ?? 0;
      polls.set(key, req.poll + 1);
    }
    (c[endpoint] ?? defaults[endpoint])(socket, req);
  });
});
server.listen(0, '127.0.0.1', () => {
  const list = cases.map(({ name, about, expect, defaults, budget_ms: budget }) => ({
    name, about, expect: [expect].flat(), defaults: Boolean(defaults),
    budget_ms: budget ?? (defaults ? RUN_OPTIONS.default_budget_ms : RUN_OPTIONS.budget_ms),
  }));
  const base = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`${JSON.stringify({ base, options: RUN_OPTIONS, cases: list })}\n`);
});
