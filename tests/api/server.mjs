// Test helpers for the API tests (node --test tests/api/).
//
// startServer() creates a temp dir, runs `isle --db DB init` and `... demo` on
// a fresh database, spawns `isle serve` on a free loopback port and waits for
// /healthz. Each test file starts one server in before() and stops it in after().
// The binary is $ISLE_BIN or build/isle (relative paths are taken from the
// project root). ISLE_ARGON2_FAST=1 keeps password hashing cheap.
//
// The database is SQLite (DIR/isle.db) unless $ISLE_TEST_PG_URL names a
// PostgreSQL server ("postgres://isle@127.0.0.1:PORT/", set by scripts/test.sh
// for the api-pg suite): then every newDb() is a new database on that server,
// dropped again by stop(). dbQuery() runs SQL on either.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.resolve(ROOT, process.env.ISLE_BIN || 'build/isle');
export const PASSWORD = 'Zhoushan@2026';
/** Base URL of the PostgreSQL server under test, or '' for SQLite. */
export const PG_BASE = process.env.ISLE_TEST_PG_URL || '';
export const isPg = PG_BASE !== '';

export const DEMO_USERS = ['citizen', 'company', 'agent', 'staff', 'approver', 'trading_staff',
  'bidder', 'expert', 'supervisor', 'admin'];

/** Environment for every isle process the tests start. */
export function isleEnv(extra = {}) {
  // ISLE_DEMO_CASES: a 300-case demo year keeps every server start fast (the product's
  // `isle demo` makes 3,000; stats.test.mjs asks for those explicitly).
  // ISLE_DEMO_TENDERS: likewise a 60-tender trading year (the product's is 520).
  const env = { ISLE_DEMO_CASES: '300', ISLE_DEMO_TENDERS: '60', ...process.env, ISLE_ARGON2_FAST: '1', ...extra };
  if (!('ISLE_DB' in extra)) delete env.ISLE_DB;
  return env;
}

/** Run the isle CLI synchronously: {status, stdout, stderr}. */
export function runIsle(args, { input, env, timeout = 30000 } = {}) {
  const r = spawnSync(BIN, args, {
    cwd: ROOT, env: isleEnv(env), input, timeout, encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Run the isle CLI and fail loudly when it does not exit 0. */
export function runIsleOk(args, opts) {
  const r = runIsle(args, opts);
  if (r.status !== 0) {
    throw new Error(`isle ${args.join(' ')} exited ${r.status} (signal ${r.signal})\n` +
      `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/** Run SQL on a database (a file: the sqlite3 CLI; a postgres:// URL: psql); returns
 *  trimmed stdout, one row per line, columns separated by '|'. */
export function dbQuery(db, sql) {
  const pg = /^postgres(ql)?:\/\//.test(db);
  const r = pg
    ? spawnSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { encoding: 'utf8' })
    : spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, sql], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${pg ? 'psql' : 'sqlite3'} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}
/** The old name of dbQuery(), kept for the tests that use it. */
export const sqlite = dbQuery;

let pgSeq = 0;
/** A new, empty database: DIR/NAME.db on SQLite, a new PostgreSQL database otherwise. */
export function newDb(dir, name = 'isle') {
  if (!isPg) return path.join(dir, `${name}.db`);
  const db = `isle_t${process.pid}_${Date.now().toString(36)}_${pgSeq++}`;
  dbQuery(`${PG_BASE}postgres`, `CREATE DATABASE ${db}`);
  return PG_BASE + db;
}

/** Remove a database made by newDb() (PostgreSQL; files go with their directory). */
export function dropDb(db) {
  const m = /^postgres(?:ql)?:\/\/.*\/([a-z0-9_]+)$/.exec(db);
  if (!m) return;
  try { dbQuery(`${PG_BASE}postgres`, `DROP DATABASE IF EXISTS ${m[1]} WITH (FORCE)`); } catch { /* best effort */ }
}

/** A copy of a database (for tests that tamper with one): VACUUM INTO on SQLite,
 *  `isle migrate-data` into a new database on PostgreSQL. */
export function copyDb(db, dir, name = 'copy') {
  if (!isPg) {
    const copy = path.join(dir, `${name}.db`);
    dbQuery(db, `VACUUM INTO '${copy}'`);
    return copy;
  }
  const copy = newDb(dir, name);
  runIsleOk(['migrate-data', '--from', db, '--to', copy]);
  return copy;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function makeTempDir(prefix = 'isle-api-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start a server. Options:
 *   dbPath: use this existing database (no init/demo) instead of a fresh one
 *   demo:   load demo data (default true)
 *   args:   extra `serve` arguments
 * Returns {base, port, dbPath, dir, bin, proc, log(), stop(), req(), login(), loginToken()}.
 */
export async function startServer(opts = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`isle binary not found at ${BIN} (run make build)`);
  const dir = makeTempDir();
  let dbPath = opts.dbPath;
  const ownDb = !dbPath;
  if (!dbPath) {
    dbPath = newDb(dir);
    runIsleOk(['--db', dbPath, 'init']);
    if (opts.demo !== false) runIsleOk(['--db', dbPath, 'demo']);
  }
  const extra = [...(opts.args || [])];
  if (isPg && !extra.includes('--files-dir')) extra.push('--files-dir', path.join(dir, 'files'));
  const port = await freePort();
  const logPath = path.join(dir, 'server.log');
  const logFd = fs.openSync(logPath, 'a');
  const proc = spawn(BIN, ['--db', dbPath, 'serve', '--listen', `127.0.0.1:${port}`,
    '--threads', '2', ...extra], {
    cwd: ROOT, env: isleEnv({ ISLE_SMS_LOG: path.join(dir, 'sms.log'), ...(opts.env || {}) }),
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  let exited = null;
  const exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));
  const log = () => { try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const base = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 15000;
  for (;;) {
    if (exited) {
      throw new Error(`isle serve exited early (${JSON.stringify(exited)}):\n${log().slice(-4000)}`);
    }
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`isle serve did not answer /healthz within 15 s:\n${log().slice(-4000)}`);
    }
    await sleep(50);
  }

  const srv = {
    base, port, dbPath, dir, bin: BIN, proc, log,
    get exited() { return exited; },
    async stop({ keep = false } = {}) {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(t);
      }
      if (!keep && !process.env.ISLE_KEEP_TMP) {
        fs.rmSync(dir, { recursive: true, force: true });
        if (ownDb) dropDb(dbPath);
      }
      return exited;
    },
    req: (method, p, o) => request(base, method, p, o),
    login: (l, pw) => login(base, l, pw),
    loginToken: (l, pw) => loginToken(base, l, pw),
  };
  return srv;
}

/**
 * fetch wrapper. o: {json, body, headers, cookie, csrf, token, signal}.
 * Returns {status, headers, text, json (parsed or undefined), res}.
 * `auth` may be a session from login()/loginToken() and fills cookie/csrf or token.
 */
export async function request(base, method, p, o = {}) {
  const headers = { ...(o.headers || {}) };
  let body = o.body;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json';
    }
  }
  const auth = o.auth || {};
  const cookie = o.cookie ?? auth.cookie;
  const csrf = o.csrf ?? (o.noCsrf ? undefined : auth.csrf);
  const token = o.token ?? auth.token;
  if (cookie) headers.Cookie = cookie;
  if (csrf && method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + p, {
    method, headers, body, redirect: 'manual', signal: o.signal ?? AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let json;
  try { json = text.length ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, res };
}

/** Cookie login: {cookie: "isle_session=…", csrf, user, setCookie}. */
export async function login(base, l, pw = PASSWORD) {
  const r = await request(base, 'POST', '/api/v1/session', { json: { login: l, password: pw } });
  if (r.status !== 200) throw new Error(`login ${l} → ${r.status} ${r.text}`);
  const setCookie = r.headers.getSetCookie().find((c) => c.startsWith('isle_session='));
  if (!setCookie) throw new Error(`login ${l}: no isle_session cookie`);
  return { cookie: setCookie.split(';')[0], csrf: r.json.csrf_token, user: r.json.user, setCookie };
}

/** Bearer login: {token, user}. */
export async function loginToken(base, l, pw = PASSWORD) {
  const r = await request(base, 'POST', '/api/v1/session', {
    json: { login: l, password: pw, token: true },
  });
  if (r.status !== 200 || !r.json?.token) throw new Error(`token login ${l} → ${r.status} ${r.text}`);
  return { token: r.json.token, user: r.json.user };
}

/** Open an SSE stream at base; returns {res, next(pred, ms), close()} parsing events as they come. */
export async function sseSubscribe(base, topic, headers = {}) {
  const ac = new AbortController();
  const res = await fetch(`${base}/api/v1/events/${topic}`, {
    headers: { Accept: 'text/event-stream', ...headers }, signal: ac.signal,
  });
  const events = [];
  const comments = [];
  let buf = '';
  let waiters = [];
  let ended = false;
  const pump = (async () => {
    if (!res.body || res.status !== 200) return;
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { data: '' };
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) { comments.push(line); continue; }
            const c = line.indexOf(':');
            const k = c < 0 ? line : line.slice(0, c);
            let v = c < 0 ? '' : line.slice(c + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (k === 'data') data.push(v); else if (k) ev[k] = v;
          }
          if (data.length || ev.event || ev.id) {
            ev.data = data.join('\n');
            events.push(ev);
          }
          waiters = waiters.filter((w) => !w());
        }
      }
    } catch { /* aborted */ }
    ended = true;
    waiters = waiters.filter((w) => !w());
  })();
  return {
    res, events, comments,
    get ended() { return ended; },
    next(pred, ms = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const ev = events.find(pred);
          if (ev) { clearTimeout(t); resolve(ev); return true; }
          if (ended) { clearTimeout(t); reject(new Error(`stream ended; events: ${JSON.stringify(events)}`)); return true; }
          return false;
        };
        const t = setTimeout(() => reject(new Error(`no matching event in ${ms} ms; got ${JSON.stringify(events)}`)), ms);
        if (!check()) waiters.push(check);
      });
    },
    async close() { ac.abort(); await pump; },
  };
}

/** Assert-friendly check of the standard error body; returns the error object. */
export function errorOf(r) {
  const e = r.json && r.json.error;
  if (!e || typeof e !== 'object') {
    throw new Error(`expected a JSON error body, got ${r.status} ${JSON.stringify(r.text).slice(0, 300)}`);
  }
  return e;
}

/**
 * node:http request without fetch's extras (no automatic Accept-Encoding, no
 * decompression; HEAD bodies stay empty). Returns {status, headers, body: Buffer}.
 */
export function httpRaw(base, method, p, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const rq = http.request({
      host: u.hostname, port: u.port, method, path: p, headers, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    rq.setTimeout(15000, () => rq.destroy(new Error('timeout')));
    rq.on('error', reject);
    if (body) rq.write(body);
    rq.end();
  });
}

/**
 * Raw TCP exchange. Writes `head` (string/Buffer), then optionally streams
 * `bodySize` bytes of filler in chunks, stopping as soon as a response starts
 * to arrive (with chunked: as Transfer-Encoding chunks). Reads until the server closes, the response is complete
 * (Content-Length; unless untilClose), or `timeout` ms pass.
 * Returns {raw: Buffer, text, status, headers (lower-case), body: Buffer,
 *          bodySent: bytes of filler written, writeError}.
 */
export function rawExchange(port, head, { bodySize = 0, chunk = 64 * 1024, timeout = 10000, fill = 'a', untilClose = false, chunked = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let bodySent = 0;
    let writeError = null;
    let done = false;
    let gotData = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(chunks);
      resolve({ ...parseResponse(raw), raw, bodySent, writeError });
    };
    const timer = setTimeout(finish, timeout);
    sock.on('error', (e) => { writeError = e; }); // 'close' follows and finishes
    sock.on('close', finish);
    sock.on('data', (d) => {
      gotData = true;
      chunks.push(d);
      const p = parseResponse(Buffer.concat(chunks));
      if (p.complete && !untilClose) finish();
    });
    const filler = Buffer.alloc(chunk, fill);
    const pump = () => {
      while (!done && !gotData && bodySent < bodySize) {
        const n = Math.min(chunk, bodySize - bodySent);
        bodySent += n;
        let piece = n === chunk ? filler : filler.subarray(0, n);
        if (chunked) {
          piece = Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n'),
            Buffer.from(bodySent >= bodySize ? '0\r\n\r\n' : '')]);
        }
        if (!sock.write(piece)) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    sock.on('connect', () => {
      sock.write(head);
      if (bodySize > 0) pump();
    });
  });
}

/** Parse the first HTTP response in raw bytes. */
export function parseResponse(raw) {
  const sep = raw.indexOf('\r\n\r\n');
  if (sep < 0) return { complete: false, status: 0, headers: {}, body: Buffer.alloc(0), text: raw.toString('latin1') };
  const headText = raw.subarray(0, sep).toString('latin1');
  const lines = headText.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const status = m ? Number(m[1]) : 0;
  let body = raw.subarray(sep + 4);
  let complete = false;
  if (status === 100) {
    complete = true; // interim response: caller decides
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    complete = body.length >= n;
    body = body.subarray(0, n);
  } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const out = [];
    let pos = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', pos);
      if (eol < 0) break;
      const n = parseInt(body.subarray(pos, eol).toString('latin1'), 16);
      if (Number.isNaN(n)) break;
      if (n === 0) { complete = true; break; }
      if (body.length < eol + 2 + n + 2) break;
      out.push(body.subarray(eol + 2, eol + 2 + n));
      pos = eol + 2 + n + 2;
    }
    body = Buffer.concat(out);
  } else if (status === 204 || status === 304) {
    complete = true;
  }
  let json;
  try { json = JSON.parse(body.toString('utf8')); } catch { json = undefined; }
  return { complete, status, headers, body, json, text: raw.toString('latin1'), statusLine: lines[0] };
}

/** GB 11643 check digit for the first 17 digits of a resident ID number. */
export function idCheckDigit(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * w[i];
  return '10X98765432'[s % 11];
}

/** A unique suffix for logins created by tests. */
export function uniq() {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
