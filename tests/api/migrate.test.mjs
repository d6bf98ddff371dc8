// `isle migrate status` on either backend; `isle migrate-data` from SQLite into
// PostgreSQL (api-pg run only): a faithful, verified copy; refusals.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { dbQuery, dropDb, isPg, makeTempDir, newDb, runIsle, runIsleOk, startServer } from './server.mjs';

let dir;
const made = [];
before(() => { dir = makeTempDir('isle-migrate-'); });
after(() => {
  if (!process.env.ISLE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  made.forEach(dropDb);
});

test('isle migrate status lists every migration, pending then applied', () => {
  const db = newDb(dir, 'status');
  made.push(db);
  const before = runIsleOk(['--db', db, 'migrate', 'status']).stdout;
  assert.match(before, /^1\s+001_init\s+pending\s+-$/m);
  const pending = Number(/^(\d+) pending/m.exec(before)[1]);
  assert.ok(pending >= 6, before);
  runIsleOk(['--db', db, 'init']);
  const after = runIsleOk(['--db', db, 'migrate', 'status']).stdout;
  assert.match(after, /^1\s+001_init\s+applied\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
  assert.match(after, /^6\s+006_jobs_events\s+applied\s+/m);
  assert.match(after, /^0 pending$/m);
  assert.equal(runIsle(['--db', db, 'migrate']).status, 2);
  assert.equal(runIsle(['--db', db, 'migrate', 'sideways']).status, 2);
});

test('isle migrate-data copies SQLite into PostgreSQL and verifies it', { skip: !isPg && 'needs PostgreSQL' }, async () => {
  // A SQLite database with demo data, some activity (sessions, audit rows, a job).
  const src = path.join(dir, 'source.db');
  runIsleOk(['--db', src, 'init']);
  runIsleOk(['--db', src, 'demo']);
  runIsleOk(['--db', src, 'jobs', 'enqueue', '--kind', 'sms', '--payload', '{"n":1}']);
  const srv = await startServer({ dbPath: src, env: { ISLE_TEST_PG_URL: '' } });
  try {
    const s = await srv.loginToken('admin');
    const r = await srv.req('POST', '/api/v1/users', {
      token: s.token,
      json: { login: 'moved_user', password: 'Moved@2026x', role: 'citizen', display_name: '迁移' },
    });
    assert.equal(r.status, 201, r.text);
  } finally {
    await srv.stop({ keep: true });
  }
  const dst = newDb(dir, 'target');
  made.push(dst);
  const r = runIsle(['migrate-data', '--from', `sqlite:${src}`, '--to', dst]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const t of ['users', 'sessions', 'audit_log', 'catalog_items', 'stations', 'jobs']) {
    const m = new RegExp(`^${t}\\s+(\\d+)\\s+(\\d+)\\s+ok$`, 'm').exec(r.stdout);
    assert.ok(m, `summary line for ${t}: ${r.stdout}`);
    assert.equal(m[1], m[2]);
    assert.equal(dbQuery(dst, `SELECT COUNT(*) FROM ${t}`), dbQuery(src, `SELECT COUNT(*) FROM ${t}`), t);
  }
  assert.match(r.stdout, /audit trail on the target: intact/);
  assert.match(r.stdout, /^copied \d+ rows in \d+ tables into postgres:/m);
  // Same values, and new rows get fresh ids after the copied ones.
  assert.equal(dbQuery(dst, "SELECT display_name FROM users WHERE login = 'moved_user'"), '迁移');
  assert.equal(dbQuery(dst, 'SELECT MAX(id) FROM users'), dbQuery(src, 'SELECT MAX(id) FROM users'));
  const add = runIsle(['--db', dst, 'user', 'add', '--role', 'citizen', '--login', 'after_move'], { input: 'After@2026x\n' });
  assert.equal(add.status, 0, add.stderr);
  assert.ok(Number(dbQuery(dst, "SELECT id FROM users WHERE login = 'after_move'")) >
    Number(dbQuery(src, 'SELECT MAX(id) FROM users')));
  assert.equal(runIsle(['--db', dst, 'audit', 'verify']).status, 0);
  // The target now has data: a second copy is refused and changes nothing.
  const again = runIsle(['migrate-data', '--from', src, '--to', dst]);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /not empty/);
});

test('isle migrate-data refuses bad input', { skip: !isPg && 'needs PostgreSQL' }, () => {
  assert.equal(runIsle(['migrate-data', '--from', 'x.db']).status, 2);
  assert.equal(runIsle(['migrate-data', '--from', 'a', '--to', 'a']).status, 2);
  const unused = newDb(dir, 'unused');
  made.push(unused);
  const missing = runIsle(['migrate-data', '--from', path.join(dir, 'nope.db'), '--to', unused]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read/);
  // A source behind this isle's schema must be initialised first.
  const old = path.join(dir, 'old.db');
  dbQuery(old, 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const dst = newDb(dir, 'target2');
  made.push(dst);
  const behind = runIsle(['migrate-data', '--from', old, '--to', dst]);
  assert.equal(behind.status, 1);
  assert.match(behind.stderr, /schema version 0/);
});
