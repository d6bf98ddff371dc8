// The job queue through `isle jobs`, on SQLite and (in the api-pg run) PostgreSQL:
// claimers racing in separate processes never get the same job.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { BIN, ROOT, dbQuery, dropDb, isleEnv, makeTempDir, newDb, runIsle, runIsleOk } from './server.mjs';

let dir;
let db;
before(() => {
  dir = makeTempDir('isle-jobs-');
  db = newDb(dir, 'jobs');
  runIsleOk(['--db', db, 'init']);
});
after(() => {
  if (!process.env.ISLE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  dropDb(db);
});

/** Run `isle jobs claim --all` in a child process; resolves to the claimed ids. */
function claimAll(kind, worker) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['--db', db, 'jobs', 'claim', '--kind', kind, '--worker', worker, '--all'],
      { cwd: ROOT, env: isleEnv() });
    let out = '';
    let errText = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { errText += d; });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) reject(new Error(`claim ${worker} exited ${code}: ${errText}`));
      else resolve(out.split('\n').filter(Boolean).map((l) => Number(l.split('\t')[0])));
    });
  });
}

test('four claimers in parallel processes: every job claimed exactly once', async () => {
  const n = 60;
  const enq = runIsleOk(['--db', db, 'jobs', 'enqueue', '--kind', 'race', '--payload', '{"x":1}', '--count', String(n)]);
  const ids = enq.stdout.trim().split('\n').map(Number);
  assert.equal(ids.length, n);
  const got = await Promise.all(['a', 'b', 'c', 'd'].map((w) => claimAll('race', `w-${w}`)));
  const all = got.flat().sort((x, y) => x - y);
  assert.deepEqual(all, [...ids].sort((x, y) => x - y), 'each job once, none lost');
  assert.equal(dbQuery(db, "SELECT COUNT(*) FROM jobs WHERE kind = 'race' AND status = 'running' AND attempts = 1"), String(n));
  assert.equal(runIsleOk(['--db', db, 'jobs', 'claim', '--kind', 'race']).stdout, '', 'nothing left');
});

test('complete, fail and list; bad input is refused with a message', () => {
  const id = runIsleOk(['--db', db, 'jobs', 'enqueue', '--kind', 'sms.send', '--payload', '{"to":"agent"}', '--max-attempts', '2']).stdout.trim();
  const c = runIsleOk(['--db', db, 'jobs', 'claim', '--kind', 'sms.send', '--worker', 'w1']).stdout.split('\t');
  assert.equal(c[0], id);
  assert.equal(c[1], '1');
  assert.equal(c[2].trim(), '{"to":"agent"}');
  const wrong = runIsle(['--db', db, 'jobs', 'complete', '--id', id, '--worker', 'w2']);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /不在此工作者手中/);
  assert.match(runIsleOk(['--db', db, 'jobs', 'fail', '--id', id, '--worker', 'w1', '--error', 'gateway down', '--retry-delay', '0']).stdout, /queued again/);
  runIsleOk(['--db', db, 'jobs', 'claim', '--kind', 'sms.send', '--worker', 'w1']);
  assert.match(runIsleOk(['--db', db, 'jobs', 'fail', '--id', id, '--worker', 'w1', '--error', 'still down']).stdout, /failed for good/);
  const list = runIsleOk(['--db', db, 'jobs', 'list', '--status', 'failed']).stdout;
  assert.match(list, new RegExp(`^${id}\\s+sms\\.send\\s+failed\\s+2/2`, 'm'));
  assert.match(list, /still down/);

  const bad = runIsle(['--db', db, 'jobs', 'enqueue', '--kind', 'Bad Kind']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /kind/);
  const badJson = runIsle(['--db', db, 'jobs', 'enqueue', '--kind', 'ok', '--payload', '{nope']);
  assert.equal(badJson.status, 1);
  assert.match(badJson.stderr, /payload/);
  assert.equal(runIsle(['--db', db, 'jobs', 'claim']).status, 2, 'usage error without --kind');
  assert.equal(runIsle(['--db', db, 'jobs', 'enqueue', '--kind', 'k', '--count', '0']).status, 2);
  assert.equal(runIsle(['--db', db, 'jobs', 'frobnicate']).status, 2);
});
