// API tests of the remote opening hall (不见面开标): a whole opening with four
// bidders holding real certificates and CMS-sealed bids (tests/tools/trade-pki.sh):
// watchers before the start, refusals (wrong party, skipped steps, another's
// plaintext, windows), live SSE delivery to an anonymous watcher and catch-up by
// Last-Event-ID and by /hall/events, 唱标 fields, art. 31 (a bid left undecrypted is
// withdrawn), the benchmark factor, objections, certificate-signed confirmations, the
// record PDF and its Ed25519 signature, the audit rows.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createHall, decryptBid, ensurePki, signConfirm } from './trade-hall-fixture.mjs';
import { dbQuery, errorOf, isPg, loginToken, makeTempDir, runIsleOk, startServer } from './server.mjs';

let srv;
let pki;
let hall;
let host;
let admin;
let citizen;
const bearer = (t) => ({ token: t });
/** Where the server keeps files: <db>-files with SQLite, DIR/files with PostgreSQL. */
const filesDir = () => (isPg ? path.join(srv.dir, 'files') : undefined);

function post(id, action, auth, json = {}) {
  return srv.req('POST', `/api/v1/trade/tenders/${id}/hall/${action}`, { auth, json });
}

/** An SSE stream on a path (the hall's own live endpoint or /api/v1/events/…). */
async function stream(p, headers = {}) {
  const ac = new AbortController();
  const res = await fetch(srv.base + p, { headers: { Accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const events = [];
  let waiters = [];
  let buf = '';
  const pump = (async () => {
    if (res.status !== 200) return;
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            const c = line.indexOf(': ');
            if (line.startsWith(':') || c < 0) continue;
            ev[line.slice(0, c)] = line.slice(c + 2);
          }
          if (ev.event) {
            ev.json = JSON.parse(ev.data);
            events.push(ev);
          }
          waiters = waiters.filter((w) => !w());
        }
      }
    } catch { /* aborted */ }
  })();
  return {
    res, events,
    next(pred, ms = 5000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no event in ${ms} ms: ${JSON.stringify(events.map((e) => e.event))}`)), ms);
        const check = () => {
          const ev = events.find(pred);
          if (ev) { clearTimeout(t); resolve(ev); return true; }
          return false;
        };
        if (!check()) waiters.push(check);
      });
    },
    async close() { ac.abort(); await pump; },
  };
}

before(async () => {
  srv = await startServer();
  pki = ensurePki(path.join(makeTempDir('isle-hall-pki-'), 'pki'));
  hall = createHall(srv.dbPath, { n: 4, pki, method: 'reasonable_low', params: '{"factor_min":0.93,"factor_max":0.95}', filesDir: filesDir() });
  host = bearer((await loginToken(srv.base, 'trading_staff')).token);
  admin = bearer((await loginToken(srv.base, 'admin')).token);
  citizen = bearer((await loginToken(srv.base, 'citizen')).token);
});

after(async () => { await srv?.stop(); });

describe('opening hall', () => {
  test('a full opening, live to an anonymous watcher', async () => {
    const id = hall.tenderId;
    const [b1, b2, b3, b4] = hall.bidders.map((b) => ({ ...b, auth: bearer(b.token) }));

    // Before the start: anyone sees the tender and the countdown, nobody the bidders.
    let r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'waiting');
    assert.equal(r.json.tender.tender_no, hall.tenderNo);
    assert.deepEqual(r.json.signins, []);
    assert.deepEqual(r.json.bids, []);
    assert.equal(r.json.me.role, 'watcher');
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`, { auth: b1.auth });
    assert.deepEqual(r.json.bids, []);
    assert.equal(r.json.me.role, 'bidder');
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall/record.pdf`, { auth: b1.auth });
    assert.equal(r.status, 404);

    // Wrong parties and skipped steps, each with a clear reason.
    r = await srv.req('POST', `/api/v1/trade/tenders/${id}/hall/start`, { json: {} });
    assert.equal(r.status, 401);
    r = await post(id, 'start', b1.auth);
    assert.equal(r.status, 403);
    r = await post(id, 'start', citizen);
    assert.equal(r.status, 403);
    r = await post(id, 'begin_decrypt', host);
    assert.equal(r.status, 409);
    assert.equal(errorOf(r).code, 'wrong_step');
    assert.match(errorOf(r).message, /等待开标/);
    r = await post(id, 'signin', b1.auth);
    assert.equal(errorOf(r).code, 'wrong_step');
    r = await post(id, 'fly', host);
    assert.equal(r.status, 404);
    r = await post(999999, 'start', host);
    assert.equal(r.status, 404);

    const watcher = await stream(`/api/v1/trade/tenders/${id}/hall/live`);
    assert.equal(watcher.res.status, 200, 'anonymous watchers may subscribe');
    const staffSse = await stream(`/api/v1/events/tender.${id}`, { Authorization: `Bearer ${host.token}` });
    assert.equal(staffSse.res.status, 200);

    r = await post(id, 'start', host);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'signin');
    await watcher.next((e) => e.event === 'hall_started');
    await staffSse.next((e) => e.event === 'hall_started');
    r = await post(id, 'close_decrypt', host);
    assert.equal(errorOf(r).code, 'wrong_step');
    assert.match(errorOf(r).message, /投标人签到/);
    r = await post(id, 'signin', host);
    assert.equal(r.status, 403);

    for (const b of [b1, b2, b3, b4]) {
      r = await post(id, 'signin', b.auth);
      assert.equal(r.status, 200, r.text);
    }
    r = await post(id, 'signin', b1.auth);
    assert.equal(errorOf(r).code, 'already_done');
    r = await post(id, 'begin_decrypt', host, { minutes: 500 });
    assert.equal(errorOf(r).field, 'minutes');
    r = await post(id, 'begin_decrypt', host, { minutes: 30 });
    assert.equal(r.status, 200);
    const ds = await watcher.next((e) => e.event === 'decrypt_started');
    assert.ok(Date.parse(ds.json.decrypt_until) > Date.now() + 29 * 60e3);

    // Each bidder decrypts at home (openssl cms -decrypt) and sends the plaintext.
    const plain = [b1, b2, b3].map((b) => decryptBid(pki, b));
    assert.equal(plain[0].toString(), b1.plaintext);
    // Another's plaintext does not open my bid; my bid stays sealed for a retry.
    r = await post(id, 'reveal', b1.auth, { plaintext_base64: plain[1].toString('base64') });
    assert.equal(r.status, 422);
    assert.equal(errorOf(r).code, 'commitment_mismatch');
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`, { auth: b1.auth });
    assert.deepEqual(r.json.bids, [], 'nothing of any bid shows before its reveal');
    assert.equal(r.json.me.bid.status, 'sealed');
    r = await post(id, 'reveal', b1.auth, { plaintext_base64: 'not base64!' });
    assert.equal(errorOf(r).field, 'plaintext_base64');
    for (const [i, b] of [b1, b2, b3].entries()) {
      r = await post(id, 'reveal', b.auth, { plaintext_base64: plain[i].toString('base64') });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.announce.bid_id, b.bidId);
      const ev = await watcher.next((e) => e.event === 'bid_opened' && e.json.bid_id === b.bidId);
      const form = JSON.parse(b.plaintext).form;
      assert.equal(ev.json.price, form.price);
      assert.equal(ev.json.duration_days, form.duration_days);
      assert.equal(ev.json.quality, form.quality);
      assert.equal(ev.json.project_manager, form.project_manager);
      assert.equal(ev.json.deposit_ref, form.deposit_ref);
      assert.equal(ev.json.company_name, b.name);
    }
    r = await post(id, 'reveal', b1.auth, { plaintext_base64: plain[0].toString('base64') });
    assert.equal(errorOf(r).code, 'already_done');

    // Catch-up: a client that dropped after hall_started gets the rest from the ring
    // (Last-Event-ID) and from the hall's log (?after=).
    const startedId = watcher.events.find((e) => e.event === 'hall_started').id;
    const late = await stream(`/api/v1/trade/tenders/${id}/hall/live`, { 'Last-Event-ID': startedId });
    await late.next((e) => e.event === 'bid_opened' && e.json.bid_id === b3.bidId);
    assert.deepEqual(late.events.map((e) => e.event),
      watcher.events.filter((e) => Number(e.id) > Number(startedId)).map((e) => e.event));
    await late.close();
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall/events?after=1`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.items.map((x) => x.seq), r.json.items.map((_, i) => i + 2));
    assert.deepEqual(r.json.items.map((x) => x.kind),
      watcher.events.filter((e) => e.json.seq > 1).map((e) => e.event));
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall/events?after=abc`);
    assert.equal(r.status, 400);

    // The window is open and b4 has not decrypted: the host cannot close it yet.
    r = await post(id, 'close_decrypt', host);
    assert.equal(errorOf(r).code, 'window_open');
    dbQuery(srv.dbPath, `UPDATE openings SET decrypt_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
    r = await post(id, 'reveal', b4.auth, { plaintext_base64: Buffer.from(b4.plaintext).toString('base64') });
    assert.equal(errorOf(r).code, 'window_closed');
    r = await post(id, 'close_decrypt', host);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.benchmark_factor >= 0.93 && r.json.benchmark_factor <= 0.95);
    const nd = await watcher.next((e) => e.event === 'bid_not_decrypted');
    assert.equal(nd.json.bid_id, b4.bidId);
    await watcher.next((e) => e.event === 'factor_drawn');
    assert.equal(dbQuery(srv.dbPath, `SELECT status FROM bids WHERE id = ${b4.bidId}`), 'not_decrypted');

    // Objections and the host's reply.
    r = await post(id, 'object', b2.auth, { text: '太早' });
    assert.equal(errorOf(r).code, 'wrong_step');
    r = await post(id, 'open_objections', host, { minutes: 5 });
    assert.equal(r.status, 200);
    r = await post(id, 'object', b2.auth, { text: 'x'.repeat(1001) });
    assert.equal(errorOf(r).field, 'text');
    r = await post(id, 'object', b2.auth, { text: '第一名的项目经理在其他项目任职，请核实。' });
    assert.equal(r.status, 200);
    const oid = r.json.objection_id;
    await watcher.next((e) => e.event === 'objection' && e.json.id === oid);
    r = await post(id, 'reply', b1.auth, { objection_id: oid, text: '我来答' });
    assert.equal(r.status, 403);
    r = await post(id, 'reply', host, { objection_id: oid, text: '已记录，提交评标委员会核查。' });
    assert.equal(r.status, 200);
    r = await post(id, 'begin_confirm', host);
    assert.equal(errorOf(r).code, 'window_open');
    dbQuery(srv.dbPath, `UPDATE openings SET objections_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
    r = await post(id, 'begin_confirm', host);
    assert.equal(r.status, 200, r.text);
    const sha = r.json.record_sha256;
    assert.equal(r.json.confirm_string, `isle-opening-confirm:v1:${hall.tenderNo}:${sha}`);

    // The record: anyone may fetch it; its bytes hash to what bidders sign.
    r = await fetch(`${srv.base}/api/v1/trade/tenders/${id}/hall/record.pdf`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/pdf');
    const pdf = Buffer.from(await r.arrayBuffer());
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.equal(crypto.createHash('sha256').update(pdf).digest('hex'), sha);
    assert.equal(r.headers.get('x-record-sha256'), sha);

    // Confirmations: certificate signatures over the pinned string.
    const text = `isle-opening-confirm:v1:${hall.tenderNo}:${sha}`;
    r = await post(id, 'confirm', b1.auth, { signature: signConfirm(pki, b2, text) });
    assert.equal(r.status, 422, 'someone else\'s key does not confirm for me');
    r = await post(id, 'confirm', b1.auth, { signature: signConfirm(pki, b1, `${text}x`) });
    assert.equal(r.status, 422);
    for (const b of [b1, b2, b3]) {
      r = await post(id, 'confirm', b.auth, { signature: signConfirm(pki, b, text) });
      assert.equal(r.status, 200, r.text);
    }
    r = await post(id, 'confirm', b1.auth, { signature: signConfirm(pki, b1, text) });
    assert.equal(errorOf(r).code, 'already_done');
    await watcher.next((e) => e.event === 'confirmed' && e.json.company_name === b3.name);

    r = await post(id, 'close', b1.auth);
    assert.equal(r.status, 403);
    r = await post(id, 'close', host);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tender_status, 'evaluation');
    const closed = await watcher.next((e) => e.event === 'closed');
    assert.equal(closed.json.opened, 3);

    // The server's Ed25519 signature over the record's digest verifies offline.
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`);
    const rec = r.json.record;
    assert.equal(rec.sha256, sha);
    assert.equal(rec.signed_payload, `isle-opening-record:v1:${hall.tenderNo}:${sha}`);
    const keys = (await srv.req('GET', '/api/v1/proofs/keys')).json.items;
    const key = keys.find((k) => k.key_id === rec.key_id);
    assert.ok(key, 'the signing key is published');
    const pub = crypto.createPublicKey(key.pem);
    assert.ok(crypto.verify(null, Buffer.from(rec.signed_payload), pub, Buffer.from(rec.signature, 'base64url')));
    assert.ok(!crypto.verify(null, Buffer.from(`${rec.signed_payload}0`), pub, Buffer.from(rec.signature, 'base64url')));
    assert.equal(r.json.bids.length, 4);
    assert.equal(r.json.confirmations.length, 3);
    assert.equal(r.json.objections[0].reply, '已记录，提交评标委员会核查。');

    // Every host and bidder action is audited.
    const n = Number(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'opening.%' AND object_id = '${id}'`));
    assert.equal(n, 1 + 4 + 1 + 3 + 1 + 1 + 1 + 1 + 1 + 3 + 1);
    r = await post(id, 'start', host);
    assert.equal(errorOf(r).code, 'wrong_step');
    await watcher.close();
    await staffSse.close();
  });

  test('art. 31: a bid the system failed to open goes by the backup key', async () => {
    // The centre's backup key, split between two custodians (supervisor, admin).
    const out = path.join(makeTempDir('isle-hall-backup-'), 'key');
    runIsleOk(['--db', srv.dbPath, 'trade', 'backup-key', 'init', '--custodians', 'supervisor,admin',
      '--threshold', '2', '--out', out]);
    const shares = fs.readdirSync(out).filter((f) => f.startsWith('share-')).sort()
      .map((f) => fs.readFileSync(path.join(out, f), 'utf8').trim());
    assert.equal(shares.length, 2);
    const h = createHall(srv.dbPath, { n: 3, pki, registerCerts: false, backupCert: path.join(out, 'backup.crt'), prefix: 'bk3', filesDir: filesDir() });
    const id = h.tenderId;
    const [b0, b1, b2] = h.bidders.map((b) => ({ ...b, auth: bearer(b.token) }));
    assert.equal((await post(id, 'start', host)).status, 200);
    for (const b of [b0, b1, b2]) assert.equal((await post(id, 'signin', b.auth)).status, 200);
    assert.equal((await post(id, 'begin_decrypt', host)).status, 200);
    for (const b of [b0, b1]) {
      const r = await post(id, 'reveal', b.auth, { plaintext_base64: decryptBid(pki, b).toString('base64') });
      assert.equal(r.status, 200, r.text);
    }
    // b2's client failed through the platform's fault: the host keeps its bid sealed.
    dbQuery(srv.dbPath, `UPDATE openings SET decrypt_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
    let r = await post(id, 'close_decrypt', host, { system_fault_bid_ids: [b2.bidId] });
    assert.equal(r.status, 200, r.text);
    assert.equal(dbQuery(srv.dbPath, `SELECT status FROM bids WHERE id = ${b2.bidId}`), 'sealed');
    r = await post(id, 'open_objections', host);
    assert.equal(errorOf(r).code, 'wrong_step', 'no objections while a bid waits for the backup path');
    r = await post(id, 'backup_reveal', b0.auth, { bid_id: b2.bidId, reason: '系统故障', shares });
    assert.equal(r.status, 403);
    r = await post(id, 'backup_reveal', host, { bid_id: b2.bidId, reason: '系统故障', shares: [shares[0]] });
    assert.equal(errorOf(r).field, 'shares');
    r = await post(id, 'backup_reveal', host, { bid_id: b2.bidId, shares });
    assert.equal(errorOf(r).field, 'reason');
    r = await post(id, 'backup_reveal', host, { bid_id: b2.bidId, reason: '投标客户端因平台证书服务故障无法解密', shares });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.announce.price, JSON.parse(b2.plaintext).form.price);
    const ev = (await srv.req('GET', `/api/v1/trade/tenders/${id}/hall/events?after=0`)).json.items;
    assert.ok(ev.some((x) => x.kind === 'backup_used' && x.data.bid_id === b2.bidId));
    assert.ok(ev.some((x) => x.kind === 'bid_opened' && x.data.bid_id === b2.bidId && x.data.via === 'backup'));
    r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall`);
    assert.equal(r.json.bids.find((b) => b.bid_id === b2.bidId).via, 'backup');
    assert.equal((await post(id, 'open_objections', host)).status, 200);
  });

  test('fewer than three opened bids: 流标', async () => {
    const h2 = createHall(srv.dbPath, { n: 2, pki: null, method: 'lowest_price', params: '{}', prefix: 'fl2' });
    const id = h2.tenderId;
    assert.equal((await post(id, 'start', host)).status, 200);
    for (const b of h2.bidders) assert.equal((await post(id, 'signin', bearer(b.token))).status, 200);
    assert.equal((await post(id, 'begin_decrypt', host)).status, 200);
    let r = await srv.req('GET', `/api/v1/trade/tenders/${id}/hall/events?after=0`);
    assert.ok(r.json.items.some((x) => x.kind === 'warning'), 'a warning when fewer than 3 signed in');
    for (const b of h2.bidders) {
      r = await post(id, 'reveal', bearer(b.token), { plaintext_base64: Buffer.from(b.plaintext).toString('base64') });
      assert.equal(r.status, 200, r.text);
    }
    assert.equal((await post(id, 'close_decrypt', host)).status, 200);
    assert.equal((await post(id, 'open_objections', host, { minutes: 1 })).status, 200);
    dbQuery(srv.dbPath, `UPDATE openings SET objections_until = '2020-01-01T00:00:00Z' WHERE tender_id = ${id}`);
    assert.equal((await post(id, 'begin_confirm', host)).status, 200);
    r = await post(id, 'close', admin);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.tender_status, 'failed');
    assert.equal(dbQuery(srv.dbPath, `SELECT failed_reason FROM tenders WHERE id = ${id}`), '有效投标人不足3家，依法流标');
    assert.equal(dbQuery(srv.dbPath, `SELECT COUNT(*) FROM tender_notices WHERE tender_id = ${id} AND kind = 'failed'`), '1');
  });

  test('a draft tender has no hall for anyone but staff', async () => {
    const h3 = createHall(srv.dbPath, { n: 1, pki: null, prefix: 'dr3' });
    dbQuery(srv.dbPath, `UPDATE tenders SET status = 'draft' WHERE id = ${h3.tenderId}`);
    let r = await srv.req('GET', `/api/v1/trade/tenders/${h3.tenderId}/hall`);
    assert.equal(r.status, 404);
    r = await srv.req('GET', `/api/v1/trade/tenders/${h3.tenderId}/hall/live`);
    assert.equal(r.status, 404);
    r = await srv.req('GET', `/api/v1/trade/tenders/${h3.tenderId}/hall`, { auth: host });
    assert.equal(r.status, 200);
    r = await post(h3.tenderId, 'start', host);
    assert.equal(errorOf(r).code, 'wrong_step');
    r = await srv.req('GET', '/api/v1/trade/tenders/abc/hall');
    assert.equal(r.status, 404);
  });
});
