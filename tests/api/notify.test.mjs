// Notifications through the API and the CLI: the in-app inbox is the caller's
// own; the outbox is for supervisors and admins with phones masked; two
// `isle serve` nodes on one database deliver every SMS exactly once through the
// log transport; `isle notify send-pending` delivers through the HTTP transport
// to a fake gateway that fails a third of the calls, exactly once, signed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { BIN, ROOT, dbQuery, errorOf, isleEnv, makeTempDir, runIsle, runIsleOk, startServer } from './server.mjs';

let a;
let b;
let tmp;
let smsLog;
const s = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const NOW = '2026-01-05T02:00:00Z';

before(async () => {
  tmp = makeTempDir('isle-notify-');
  smsLog = path.join(tmp, 'sms.log');
  const env = { ISLE_SMS_LOG: smsLog, ISLE_NOTIFY_POLL_MS: '100' };
  a = await startServer({ env });
  b = await startServer({ dbPath: a.dbPath, env, args: ['--files-dir', path.join(a.dir, 'files')] });
  for (const l of ['citizen', 'company', 'supervisor', 'admin', 'staff']) s[l] = await a.loginToken(l);
});
after(async () => {
  await b?.stop();
  await a?.stop();
  if (tmp && !process.env.ISLE_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

function addNotification(login, key, title) {
  return Number(dbQuery(a.dbPath,
    `INSERT INTO notifications (user_id, template, title, body, link, dedupe_key, created_at)
     SELECT id, 'case_submitted', '${title}', '正文 ${key}', '/cases/1', '${key}', '${NOW}'
     FROM users WHERE login = '${login}' RETURNING id`));
}

test('the inbox is the caller\'s own: list, unread filter, read one, read all', async () => {
  const mine = [addNotification('citizen', 'inbox:1', '一'), addNotification('citizen', 'inbox:2', '二'),
    addNotification('citizen', 'inbox:3', '三')];
  const theirs = addNotification('company', 'inbox:4', '四');

  assert.equal((await a.req('GET', '/api/v1/me/notifications')).status, 401);
  const list = await a.req('GET', '/api/v1/me/notifications?limit=2', { auth: s.citizen });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.total, 3);
  assert.equal(list.json.unread, 3);
  assert.deepEqual(list.json.items.map((n) => n.id), [mine[2], mine[1]], 'newest first');
  assert.deepEqual(Object.keys(list.json.items[0]).sort(),
    ['body', 'created_at', 'id', 'link', 'read_at', 'template', 'title']);
  assert.equal((await a.req('GET', '/api/v1/me/notifications?unread=maybe', { auth: s.citizen })).status, 400);

  const other = await a.req('POST', `/api/v1/me/notifications/${theirs}/read`, { auth: s.citizen });
  assert.equal(other.status, 404);
  assert.equal(errorOf(other).code, 'not_found');
  assert.equal(dbQuery(a.dbPath, `SELECT COUNT(*) FROM notifications WHERE id = ${theirs} AND read_at IS NULL`), '1');
  assert.equal((await a.req('POST', '/api/v1/me/notifications/abc/read', { auth: s.citizen })).status, 404);

  const one = await b.req('POST', `/api/v1/me/notifications/${mine[0]}/read`, { auth: s.citizen });
  assert.equal(one.status, 200, one.text);
  assert.ok(one.json.notification.read_at);
  const again = await a.req('POST', `/api/v1/me/notifications/${mine[0]}/read`, { auth: s.citizen });
  assert.equal(again.json.notification.read_at, one.json.notification.read_at, 'the first read time stays');
  let c = await a.req('GET', '/api/v1/me/notifications/unread-count', { auth: s.citizen });
  assert.deepEqual(c.json, { unread: 2 });
  const unread = await a.req('GET', '/api/v1/me/notifications?unread=1', { auth: s.citizen });
  assert.deepEqual(unread.json.items.map((n) => n.id), [mine[2], mine[1]]);
  const all = await a.req('POST', '/api/v1/me/notifications/read-all', { auth: s.citizen });
  assert.equal(all.status, 200);
  assert.equal(all.json.updated, 2);
  c = await a.req('GET', '/api/v1/me/notifications/unread-count', { auth: s.citizen });
  assert.equal(c.json.unread, 0);
  c = await a.req('GET', '/api/v1/me/notifications/unread-count', { auth: s.company });
  assert.equal(c.json.unread, 1, 'read-all touched only the caller\'s');
});

/** N pending SMS with their jobs, as notify_send would have written them. */
function queueSms(prefix, n) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    rows.push(`('sms', 'case_accepted', '139${String(10000000 + i)}', '【舟山政务服务】测试 ${i}', 'pending', 0, '${prefix}:${i}', '${NOW}')`);
  }
  dbQuery(a.dbPath, `INSERT INTO outbox (channel, template, phone, body, status, attempts, dedupe_key, created_at) VALUES ${rows.join(', ')}`);
  const ids = dbQuery(a.dbPath, `SELECT id FROM outbox WHERE dedupe_key LIKE '${prefix}:%' ORDER BY id`).split('\n').map(Number);
  dbQuery(a.dbPath, `INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_after, created_at, updated_at) VALUES ${
    ids.map((id) => `('notify.sms', '{"outbox_id":${id}}', 'queued', 0, 20, '2000-01-01T00:00:00Z', '${NOW}', '${NOW}')`).join(', ')}`);
  return ids;
}

async function waitSent(prefix, n, ms = 20000) {
  const t0 = Date.now();
  for (;;) {
    const sent = Number(dbQuery(a.dbPath, `SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE '${prefix}:%' AND status = 'sent'`));
    if (sent === n || Date.now() - t0 > ms) return sent;
    await sleep(100);
  }
}

test('two nodes deliver every SMS exactly once (log transport, phones masked)', async () => {
  const ids = queueSms('two', 600);
  assert.equal(await waitSent('two', ids.length), ids.length);
  const lines = fs.readFileSync(smsLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
  for (const id of ids) {
    const mine = lines.filter((l) => l[1] === String(id));
    assert.equal(mine.length, 1, `outbox ${id} sent ${mine.length} times`);
    assert.match(mine[0][2], /^139\*\*\*\*\d{4}$/);
  }
  assert.doesNotMatch(fs.readFileSync(smsLog, 'utf8'), /139\d{8}/, 'no phone in clear');
  assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify.sms' AND status <> 'done'"), '0');
  assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'two:%' AND attempts <> 1"), '0');
  for (const srv of [a, b]) assert.doesNotMatch(srv.log(), /139\d{8}/);
});

test('the outbox: supervisors and admins only, phones masked, status filter', async () => {
  assert.equal((await a.req('GET', '/api/v1/outbox', { auth: s.citizen })).status, 403);
  assert.equal((await a.req('GET', '/api/v1/outbox', { auth: s.staff })).status, 403);
  const r = await a.req('GET', '/api/v1/outbox?status=sent&limit=5', { auth: s.admin });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.items.length, 5);
  assert.ok(r.json.total >= 600);
  assert.ok(r.json.counts.sent >= 600);
  for (const o of r.json.items) {
    assert.equal(o.status, 'sent');
    assert.match(o.phone, /^139\*\*\*\*\d{4}$/);
    assert.match(o.provider_id, /^log-\d+$/);
  }
  assert.doesNotMatch(r.text, /139\d{8}/);
  const bad = await a.req('GET', '/api/v1/outbox?status=lost', { auth: s.supervisor });
  assert.equal(bad.status, 400);
  assert.equal(errorOf(bad).field, 'status');
});

/** Run the isle CLI without blocking the event loop (the fake gateway lives in it). */
function runIsleAsync(args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { cwd: ROOT, env: isleEnv(env) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('error', reject);
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('send-pending over HTTP: a gateway failing a third of the calls gets each SMS once, signed', async () => {
  // The nodes' senders would take these jobs through their log transport: stop them first.
  await b.stop({ keep: true });
  await a.stop({ keep: true });
  const secret = 'gateway-secret';
  const delivered = new Map();
  let calls = 0;
  let badSignatures = 0;
  const gw = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      calls++;
      const ts = req.headers['x-isle-timestamp'];
      const want = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
      if (req.headers['x-isle-signature'] !== want) badSignatures++;
      if (calls % 3 === 0) {
        res.writeHead(calls % 2 ? 500 : 503);
        res.end('busy');
        return;
      }
      const m = JSON.parse(body);
      delivered.set(m.id, (delivered.get(m.id) || 0) + 1);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message_id: `gw-${m.id}` }));
    });
  });
  await new Promise((r) => gw.listen(0, '127.0.0.1', r));
  try {
    const ids = queueSms('http', 40);
    const env = {
      ISLE_SMS_URL: `http://127.0.0.1:${gw.address().port}/sms`, ISLE_SMS_SECRET: secret, ISLE_SMS_RETRY_BASE: '0',
    };
    const r = await runIsleAsync(['--db', a.dbPath, 'notify', 'send-pending'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sent 40, retried \d+, failed 0, skipped 0$/m);
    assert.ok(calls > 40, 'some calls failed and were retried');
    assert.equal(badSignatures, 0);
    for (const id of ids) assert.equal(delivered.get(id), 1, `outbox ${id} delivered ${delivered.get(id)} times`);
    assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'http:%' AND status = 'sent' AND provider_id LIKE 'gw-%'"), '40');
    assert.doesNotMatch(r.stderr, /139\d{8}/);

    const list = runIsleOk(['--db', a.dbPath, 'notify', 'list', '--status', 'sent', '--limit', '3']).stdout;
    assert.match(list, /139\*\*\*\*\d{4}/);
    assert.doesNotMatch(list, /139\d{8}/);
    assert.match(list, /\d+ pending, \d+ sent, 0 failed/);
    assert.equal(runIsle(['--db', a.dbPath, 'notify', 'list', '--status', 'lost']).status, 1);
    assert.equal(runIsle(['--db', a.dbPath, 'notify', 'frobnicate']).status, 2);
    const rendered = runIsleOk(['notify', 'render', 'case_returned', '--params',
      '{"case_no":"ZS1","item_name":"户口迁移","reason":"缺少照片"}']).stdout;
    assert.match(rendered, /需要补正：缺少照片/);
    const missing = runIsle(['notify', 'render', 'case_returned', '--params', '{"case_no":"ZS1"}']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /params\.item_name|params\.reason/);
  } finally {
    await new Promise((r) => gw.close(r));
  }
});
