// Notifications through the API and the CLI: the in-app inbox is the caller's
// own; the outbox is for supervisors and admins with phones masked; two
// `isle serve` nodes on one database deliver every SMS exactly once through the
// log transport; `isle notify send-pending` and a live node deliver through the
// HTTP transport to a fake gateway that fails 20% of the calls and sometimes
// times out (before or after it took the message), each message exactly once,
// signed; the gateway's delivery receipts come back signed and are stored once;
// the per-recipient limit delays, never drops; notification settings, TD replies
// and essential templates decide who gets an SMS.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
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

const SECRET = 'gateway-secret';

before(async () => {
  tmp = makeTempDir('isle-notify-');
  smsLog = path.join(tmp, 'sms.log');
  const env = { ISLE_SMS_LOG: smsLog, ISLE_NOTIFY_POLL_MS: '100', ISLE_SMS_SECRET: SECRET };
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

/** dbQuery() without blocking the event loop: the fake gateways live in it, and a
 *  gateway that cannot answer in time looks like one that timed out. */
function dbQueryAsync(db, sql) {
  const pg = /^postgres(ql)?:\/\//.test(db);
  const [cmd, args] = pg ? ['psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql]]
    : ['sqlite3', ['-cmd', '.timeout 5000', db, sql]];
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${stderr || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** N pending SMS as notify_send would have written them (phones PHONE(i), or one phone). */
async function queueSms(prefix, n, { db = a.dbPath, phone, essential = 1, notificationId } = {}) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    const to = phone || `139${String(10000000 + i)}`;
    rows.push(`(${notificationId ?? 'NULL'}, 'sms', 'case_accepted', '${to}', '【舟山政务服务】测试 ${i}', 'pending', 0, '${prefix}:${i}', '${NOW}', ${essential}, '${NOW}')`);
  }
  await dbQueryAsync(db, `INSERT INTO outbox (notification_id, channel, template, phone, body, status, attempts, dedupe_key, created_at, essential, run_after) VALUES ${rows.join(', ')}`);
  return (await dbQueryAsync(db, `SELECT id FROM outbox WHERE dedupe_key LIKE '${prefix}:%' ORDER BY id`)).split('\n').map(Number);
}

async function waitSent(prefix, n, ms = 20000, db = a.dbPath) {
  const t0 = Date.now();
  for (;;) {
    const sent = Number(await dbQueryAsync(db, `SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE '${prefix}:%' AND status = 'sent'`));
    if (sent === n || Date.now() - t0 > ms) return sent;
    await sleep(100);
  }
}

test('two nodes deliver every SMS exactly once (log transport, phones masked)', async () => {
  const ids = await queueSms('two', 600);
  assert.equal(await waitSent('two', ids.length), ids.length);
  const lines = fs.readFileSync(smsLog, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
  for (const id of ids) {
    const mine = lines.filter((l) => l[1] === String(id));
    assert.equal(mine.length, 1, `outbox ${id} sent ${mine.length} times`);
    assert.match(mine[0][2], /^139\*\*\*\*\d{4}$/);
  }
  assert.doesNotMatch(fs.readFileSync(smsLog, 'utf8'), /139\d{8}/, 'no phone in clear');
  assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'two:%' AND (attempts <> 1 OR locked_by IS NOT NULL)"), '0');
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

/** Sign a body as the gateway does (X-Isle-Timestamp, X-Isle-Signature). */
function signed(body, { secret = SECRET, ts = Math.floor(Date.now() / 1000) } = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sig = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${text}`).digest('hex');
  return { body: text, headers: { 'Content-Type': 'application/json', 'X-Isle-Timestamp': String(ts), 'X-Isle-Signature': sig } };
}

test('notification settings, TD replies and essential templates decide who gets an SMS', async () => {
  assert.equal((await a.req('GET', '/api/v1/me/notification-settings')).status, 401);
  let r = await a.req('GET', '/api/v1/me/notification-settings', { auth: s.citizen });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.sms_optional, true);
  assert.equal(r.json.phone, '139****1234');
  assert.equal(r.json.phone_opted_out, false);
  const kinds = Object.fromEntries(r.json.templates.map((t) => [t.name, t.sms]));
  assert.equal(kinds.case_accepted, 'essential');
  assert.equal(kinds.case_delivered, 'optional');
  assert.equal(kinds.case_submitted, 'none');
  for (const bad of [{}, { sms_optional: 'no' }, { sms_optional: true, extra: 1 }]) {
    const x = await a.req('PUT', '/api/v1/me/notification-settings', { auth: s.citizen, json: bad });
    assert.equal(x.status, 400, JSON.stringify(bad));
    assert.equal(errorOf(x).field, Object.keys(bad).includes('extra') ? 'extra' : 'sms_optional');
  }
  r = await a.req('PUT', '/api/v1/me/notification-settings', { auth: s.citizen, json: { sms_optional: false } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.sms_optional, false);
  r = await b.req('PUT', '/api/v1/me/notification-settings', { auth: s.citizen, json: { sms_optional: true } });
  assert.equal(r.json.sms_optional, true);
  assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM audit_log WHERE action = 'notify.settings' AND actor_login = 'citizen'"), '2');

  // The gateway's inbound callback: signed, or refused before the body is read.
  const td = { phone: '+86 139-0580-1234', text: '退订' };
  let x = await a.req('POST', '/api/v1/sms/inbound', { json: td });
  assert.equal(x.status, 401);
  assert.equal(errorOf(x).field, 'X-Isle-Timestamp');
  const forged = signed(td, { secret: 'wrong' });
  x = await a.req('POST', '/api/v1/sms/inbound', forged);
  assert.equal(x.status, 401);
  assert.equal(errorOf(x).field, 'X-Isle-Signature');
  x = await a.req('POST', '/api/v1/sms/inbound', signed(td, { ts: Math.floor(Date.now() / 1000) - 3600 }));
  assert.equal(x.status, 401);
  assert.equal(errorOf(x).field, 'X-Isle-Timestamp');
  const good = signed(td);
  x = await a.req('POST', '/api/v1/sms/inbound', { ...good, body: good.body.replace('退订', 'TD') });
  assert.equal(x.status, 401, 'a body changed after signing');
  x = await a.req('POST', '/api/v1/sms/inbound', signed({ phone: '13905801234' }));
  assert.equal(x.status, 400);
  assert.equal(errorOf(x).field, 'text');
  x = await a.req('POST', '/api/v1/sms/inbound', signed({ phone: 'abc', text: 'TD' }));
  assert.equal(errorOf(x).field, 'phone');
  x = await a.req('POST', '/api/v1/sms/inbound', signed({ phone: '13905801234', text: '好的，谢谢' }));
  assert.deepEqual(x.json, { action: 'none' });
  x = await a.req('POST', '/api/v1/sms/inbound', good);
  assert.equal(x.status, 200, x.text);
  assert.deepEqual(x.json, { action: 'opted_out' });
  x = await b.req('POST', '/api/v1/sms/inbound', signed(td));
  assert.deepEqual(x.json, { action: 'already_opted_out' });
  r = await a.req('GET', '/api/v1/me/notification-settings', { auth: s.citizen });
  assert.equal(r.json.phone_opted_out, true);
  assert.equal(r.json.sms_optional, true);

  // Queued for the citizen: an essential and a non-essential SMS. The TD stops only the second.
  const nid = Number(dbQuery(a.dbPath, `SELECT id FROM notifications WHERE dedupe_key = 'inbox:1'`));
  const [essential] = await queueSms('ess', 1, { phone: '13905801234', essential: 1, notificationId: nid });
  const [optional] = await queueSms('opt', 1, { phone: '13905801234', essential: 0, notificationId: nid });
  assert.equal(await waitSent('ess', 1), 1);
  for (let i = 0; i < 100 && dbQuery(a.dbPath, `SELECT status FROM outbox WHERE id = ${optional}`) === 'pending'; i++) await sleep(100);
  assert.equal(dbQuery(a.dbPath, `SELECT status FROM outbox WHERE id = ${optional}`), 'suppressed');
  assert.doesNotMatch(fs.readFileSync(smsLog, 'utf8'), new RegExp(`\\t${optional}\\t`));
  const list = await a.req('GET', '/api/v1/outbox?status=suppressed', { auth: s.admin });
  assert.equal(list.status, 200, list.text);
  assert.ok(list.json.counts.suppressed >= 1);
  assert.equal(list.json.items[0].id, optional);
  assert.equal(list.json.items[0].essential, false);

  // A receipt for the essential one: stored once; a repeat changes nothing.
  x = await a.req('POST', '/api/v1/sms/receipts', signed({ id: essential, status: 'delivered' }));
  assert.equal(x.status, 200, x.text);
  assert.deepEqual(x.json, { id: essential, result: 'recorded', receipt_status: 'delivered' });
  x = await b.req('POST', '/api/v1/sms/receipts', signed({ provider_id: `log-${essential}`, status: 'failed' }));
  assert.deepEqual(x.json, { id: essential, result: 'ignored', receipt_status: 'delivered' });
  x = await a.req('POST', '/api/v1/sms/receipts', signed({ id: 999999, status: 'delivered' }));
  assert.equal(x.status, 404);
  assert.equal(errorOf(x).field, 'id');
  x = await a.req('POST', '/api/v1/sms/receipts', signed({ receipts: [{ id: essential, status: 'delivered' }, { id: essential }] }));
  assert.equal(x.status, 400);
  assert.equal(errorOf(x).field, 'receipts[1].status');
  const row = (await a.req('GET', '/api/v1/outbox?status=sent&limit=500', { auth: s.admin })).json.items.find((o) => o.id === essential);
  assert.equal(row.receipt_status, 'delivered');
  assert.ok(row.receipt_at);

  // Saying yes again, logged in, lifts the TD.
  r = await a.req('PUT', '/api/v1/me/notification-settings', { auth: s.citizen, json: { sms_optional: true } });
  assert.equal(r.json.phone_opted_out, false);
  assert.equal(dbQuery(a.dbPath, 'SELECT COUNT(*) FROM sms_optouts'), '0');
  assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM audit_log WHERE action = 'notify.sms_optout' AND after_json LIKE '%139****1234%'"), '1');
  for (const srv of [a, b]) assert.doesNotMatch(srv.log(), /13905801234/);
});

/**
 * A fake SMS gateway. Every 5th call answers 500 or 503 (20%); with hangEvery, one call
 * in hangEvery hangs before taking the message and another hangs after taking it (the
 * answer is lost: isle times out and sends again; the gateway knows the id, as a real
 * one with idempotency does, and delivers nothing twice). It records, per outbox id, the
 * requests received, when it first delivered it, and whether isle sent it again after
 * an answer 200 had gone out (it must never). postReceiptsTo(server) makes it post signed
 * delivery receipts back in batches (every 7th as a failure, by its own id), retrying
 * those isle does not know yet, and the first batch twice.
 */
function fakeGateway({ secret = SECRET, hangEvery = 0 } = {}) {
  const g = {
    calls: 0, badSignatures: 0, requests: new Map(), firstAt: new Map(), acked: new Set(),
    ackedThenResent: 0, takenTwice: 0, hung: [], queue: [], receipts: { recorded: 0, duplicate: 0, ignored: 0, not_found: 0 },
    batches: 0, phonesInClear: 0,
  };
  g.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const call = ++g.calls;
      const ts = req.headers['x-isle-timestamp'];
      const want = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
      if (req.headers['x-isle-signature'] !== want) g.badSignatures++;
      const m = JSON.parse(body);
      if (/^1\d{10}$/.test(m.phone)) g.phonesInClear++;
      g.requests.set(m.id, (g.requests.get(m.id) || 0) + 1);
      if (g.acked.has(m.id)) g.ackedThenResent++;
      if (call % 5 === 0) {
        res.writeHead(call % 2 ? 500 : 503);
        res.end('busy');
        return;
      }
      if (hangEvery && call % hangEvery === 3) { g.hung.push(res); return; }
      if (g.firstAt.has(m.id)) {
        g.takenTwice++;
      } else {
        g.firstAt.set(m.id, Date.now());
        g.queue.push(m.id);
      }
      if (hangEvery && call % hangEvery === 8) { g.hung.push(res); return; }
      res.on('finish', () => g.acked.add(m.id));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message_id: `gw-${m.id}` }));
    });
  });
  let timer = null;
  let flushing = false;
  let receiptsTo = null;
  const flush = async () => {
    if (flushing || !g.queue.length) return;
    flushing = true;
    const ids = g.queue.splice(0, 200);
    const receipts = ids.map((id) => (id % 7 === 0
      ? { provider_id: `gw-${id}`, status: 'failed', error: '用户停机' }
      : { id, status: 'delivered' }));
    try {
      for (let k = 0; k < (g.batches === 0 ? 2 : 1); k++) {
        const r = await receiptsTo.req('POST', '/api/v1/sms/receipts', signed({ receipts }, { secret }));
        if (r.status !== 200) throw new Error(`receipts → ${r.status} ${r.text}`);
        for (const x of r.json.results) {
          g.receipts[x.result]++;
          if (x.result === 'not_found' && k === 0) g.queue.push(ids[x.index]); // not recorded yet: later
        }
      }
      g.batches++;
    } catch (err) {
      g.receiptError = err;
      g.queue.push(...ids);
    } finally {
      flushing = false;
    }
  };
  g.start = () => new Promise((r) => g.server.listen(0, '127.0.0.1', () => {
    g.url = `http://127.0.0.1:${g.server.address().port}/sms`;
    r();
  }));
  g.postReceiptsTo = (srv) => {
    receiptsTo = srv;
    timer = setInterval(flush, 100);
  };
  g.stop = async () => {
    if (timer) clearInterval(timer);
    for (const res of g.hung) res.destroy();
    g.server.closeAllConnections?.();
    await new Promise((r) => g.server.close(r));
  };
  return g;
}

test('a live node and a flaky gateway: every SMS once, receipts back once, the per-phone limit delays', async () => {
  const gw = fakeGateway({ hangEvery: 17 });
  await gw.start();
  const c = await startServer({
    env: {
      ISLE_SMS_URL: gw.url, ISLE_SMS_SECRET: SECRET, ISLE_SMS_TIMEOUT_MS: '300', ISLE_SMS_RETRY_BASE: '0',
      ISLE_NOTIFY_POLL_MS: '100', ISLE_SMS_PER_PHONE: '3', ISLE_SMS_PHONE_WINDOW: '2', ISLE_SMS_BATCH: '50',
      ISLE_SMS_CONCURRENCY: '8',
    },
  });
  gw.postReceiptsTo(c);
  try {
    const N = 400;
    const ids = await queueSms('live', N, { db: c.dbPath });
    const same = await queueSms('burst', 7, { db: c.dbPath, phone: '13700000001' });
    assert.equal(await waitSent('live', N, 30000, c.dbPath), N);
    assert.equal(await waitSent('burst', 7, 30000, c.dbPath), 7);
    assert.equal(gw.badSignatures, 0);
    assert.equal(gw.phonesInClear, gw.calls, 'the gateway gets the number it must send to');
    assert.equal(gw.ackedThenResent, 0, 'nothing is sent again after the gateway answered 200');
    assert.ok(gw.calls > N + 7, 'some calls failed or timed out and were retried');
    assert.ok(gw.hung.length > 0, 'some calls timed out');
    // A call whose answer was lost is sent again: the one window isle cannot close alone
    // (notify.h); the gateway drops it by the outbox id it carries.
    assert.ok(gw.takenTwice > 0, 'an answer lost after the gateway took the message');
    const attempts = new Map(dbQuery(c.dbPath, 'SELECT id, attempts FROM outbox').split('\n')
      .map((l) => l.split('|').map(Number)));
    for (const id of [...ids, ...same]) {
      assert.ok(gw.firstAt.has(id), `outbox ${id} never delivered`);
      // Every hand-over isle counted reached the gateway, and no other did.
      assert.equal(gw.requests.get(id), attempts.get(id), `outbox ${id}`);
    }
    assert.equal(dbQuery(c.dbPath, "SELECT COUNT(*) FROM outbox WHERE status <> 'sent' OR provider_id NOT LIKE 'gw-%' OR locked_by IS NOT NULL"), '0');
    // The per-phone limit: 3 at once, the next 3 a window on, the last one later still.
    const t = same.map((id) => gw.firstAt.get(id)).sort((x, y) => x - y);
    assert.ok(t[2] - t[0] < 1000, `first three together: ${t.map((v) => v - t[0])}`);
    assert.ok(t[3] - t[0] >= 900, `the 4th waited for the window: ${t.map((v) => v - t[0])}`);
    assert.ok(t[6] - t[3] >= 900, `the 7th waited another window: ${t.map((v) => v - t[0])}`);
    // Receipts: every message gets one, stored once, the first batch sent twice.
    for (let i = 0; i < 100; i++) {
      if (await dbQueryAsync(c.dbPath, 'SELECT COUNT(*) FROM outbox WHERE receipt_status IS NULL') === '0') break;
      await sleep(100);
    }
    assert.equal(gw.receiptError, undefined);
    assert.equal(dbQuery(c.dbPath, 'SELECT COUNT(*) FROM outbox WHERE receipt_status IS NULL'), '0');
    const failedIds = [...ids, ...same].filter((id) => id % 7 === 0);
    assert.equal(dbQuery(c.dbPath, "SELECT COUNT(*) FROM outbox WHERE receipt_status = 'failed' AND receipt_error = '用户停机'"), String(failedIds.length));
    assert.equal(gw.receipts.recorded, N + 7);
    assert.ok(gw.receipts.duplicate >= 1, 'the repeated batch changed nothing');
    assert.equal(gw.receipts.ignored, 0);
    assert.doesNotMatch(c.log(), /13[79]\d{8}/, 'no phone in the log');
  } finally {
    await c.stop();
    await gw.stop();
  }
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

test('send-pending over HTTP: a gateway failing 20% of the calls and timing out gets each SMS once, signed', async () => {
  // The nodes' senders would take these rows through their log transport: stop them first.
  await b.stop({ keep: true });
  await a.stop({ keep: true });
  const gw = fakeGateway({ hangEvery: 13 });
  await gw.start();
  try {
    const ids = await queueSms('http', 40);
    const env = {
      ISLE_SMS_URL: gw.url, ISLE_SMS_SECRET: SECRET, ISLE_SMS_RETRY_BASE: '0', ISLE_SMS_TIMEOUT_MS: '300',
    };
    const r = await runIsleAsync(['--db', a.dbPath, 'notify', 'send-pending'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^sent 40, retried \d+, failed 0, deferred 0, suppressed 0$/m);
    assert.ok(gw.calls > 40, 'some calls failed and were retried');
    assert.ok(gw.hung.length > 0, 'some calls timed out');
    assert.equal(gw.badSignatures, 0);
    assert.equal(gw.ackedThenResent, 0);
    const attempts = new Map(dbQuery(a.dbPath, "SELECT id, attempts FROM outbox WHERE dedupe_key LIKE 'http:%'")
      .split('\n').map((l) => l.split('|').map(Number)));
    for (const id of ids) {
      assert.ok(gw.firstAt.has(id), `outbox ${id} never delivered`);
      assert.equal(gw.requests.get(id), attempts.get(id), `outbox ${id}`);
    }
    assert.equal(dbQuery(a.dbPath, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'http:%' AND status = 'sent' AND provider_id LIKE 'gw-%'"), '40');
    assert.doesNotMatch(r.stderr, /139\d{8}/);

    const list = runIsleOk(['--db', a.dbPath, 'notify', 'list', '--status', 'sent', '--limit', '3']).stdout;
    assert.match(list, /139\*\*\*\*\d{4}/);
    assert.doesNotMatch(list, /139\d{8}/);
    assert.match(list, /\d+ pending, \d+ sent, 0 failed, \d+ suppressed/);
    assert.equal(runIsle(['--db', a.dbPath, 'notify', 'list', '--status', 'lost']).status, 1);
    assert.equal(runIsle(['--db', a.dbPath, 'notify', 'frobnicate']).status, 2);
    const bad = runIsle(['--db', a.dbPath, 'notify', 'send-pending'], { env: { ISLE_SMS_PER_PHONE: 'many' } });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /ISLE_SMS_PER_PHONE/);
    const rendered = runIsleOk(['notify', 'render', 'case_returned', '--params',
      '{"case_no":"ZS1","item_name":"户口迁移","reason":"缺少照片"}']).stdout;
    assert.match(rendered, /需要补正：缺少照片/);
    const missing = runIsle(['notify', 'render', 'case_returned', '--params', '{"case_no":"ZS1"}']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /params\.item_name|params\.reason/);
  } finally {
    await gw.stop();
  }
});
