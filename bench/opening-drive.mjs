// bench/opening-drive.mjs — drives one opening hall for bench/opening.sh.
//
//   node bench/opening-drive.mjs prepare URL DB N OUT.json
//     inserts a tender whose deadline has passed with N bidders holding sealed bids
//     (tests/api/trade-hall-fixture.mjs, bearer sessions made in the database), logs
//     the host in, starts the hall, signs every bidder in (20 at a time) and opens a
//     decryption window; writes {tenderId, baseSeq, hostToken, bidders:[{token,
//     plaintext}]} to OUT.json. baseSeq is the hall seq the first 唱标 event will get.
//   node bench/opening-drive.mjs reveal URL OUT.json SPREAD_S
//     every bidder reveals its plaintext at a uniformly random moment within SPREAD_S
//     seconds (all inside one minute by default); then the host closes the window.
//     Prints key=value lines: reveals_ok, reveals_failed, the POST answer p50/p99/max,
//     reveal_seconds, close_status.
// Only 127.0.0.1 is contacted.
import fs from 'node:fs';

import { createHall } from '../tests/api/trade-hall-fixture.mjs';

const [, , phase, url, ...rest] = process.argv;
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url || '')) {
  console.error('usage: opening-drive.mjs prepare|reveal http://127.0.0.1:PORT …');
  process.exit(2);
}

async function call(method, path, token, body) {
  const r = await fetch(url + path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json, text };
}

async function pool(items, n, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      await fn(items[k], k);
    }
  }));
}

const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.round((p / 100) * (a.length - 1)))] : 0);

if (phase === 'prepare') {
  const [db, nStr, out] = rest;
  const n = Number(nStr);
  const hall = createHall(db, { n, pki: null, prefix: 'bench', deadlineAgoSec: 2 });
  const login = await call('POST', '/api/v1/session', null, { login: 'trading_staff', password: 'Zhoushan@2026', token: true });
  if (login.status !== 200) throw new Error(`host login: ${login.text}`);
  const host = login.json.token;
  const base = `/api/v1/trade/tenders/${hall.tenderId}/hall`;
  let r = await call('POST', `${base}/start`, host, {});
  if (r.status !== 200) throw new Error(`start: ${r.text}`);
  let failed = 0;
  await pool(hall.bidders, 20, async (b) => {
    const s = await call('POST', `${base}/signin`, b.token, {});
    if (s.status !== 200) failed++;
  });
  if (failed) throw new Error(`${failed} sign-ins failed`);
  r = await call('POST', `${base}/begin_decrypt`, host, { minutes: 10 });
  if (r.status !== 200) throw new Error(`begin_decrypt: ${r.text}`);
  fs.writeFileSync(out, JSON.stringify({
    tenderId: hall.tenderId,
    baseSeq: r.json.seq + 1,
    hostToken: host,
    bidders: hall.bidders.map((b) => ({ token: b.token, plaintext: b.plaintext })),
  }));
  console.log(`tender_id=${hall.tenderId}`);
  console.log(`base_seq=${r.json.seq + 1}`);
} else if (phase === 'reveal') {
  const [file, spreadStr] = rest;
  const spread = Number(spreadStr || 60) * 1000;
  const st = JSON.parse(fs.readFileSync(file, 'utf8'));
  const base = `/api/v1/trade/tenders/${st.tenderId}/hall`;
  const t0 = Date.now();
  const answers = [];
  let ok = 0;
  let bad = 0;
  let firstBad = '';
  await Promise.all(st.bidders.map((b) => new Promise((resolve) => {
    setTimeout(async () => {
      const s = Date.now();
      try {
        const r = await call('POST', `${base}/reveal`, b.token, { plaintext_base64: Buffer.from(b.plaintext).toString('base64') });
        answers.push(Date.now() - s);
        if (r.status === 200) ok++;
        else {
          bad++;
          firstBad ||= r.text.slice(0, 200);
        }
      } catch (e) {
        bad++;
        firstBad ||= String(e);
      }
      resolve();
    }, Math.random() * spread);
  })));
  const secs = (Date.now() - t0) / 1000;
  answers.sort((a, b) => a - b);
  const c = await call('POST', `${base}/close_decrypt`, st.hostToken, {});
  console.log(`reveals_ok=${ok}`);
  console.log(`reveals_failed=${bad}`);
  if (firstBad) console.error(`opening-drive: first failed reveal: ${firstBad}`);
  console.log(`reveal_answer_p50_ms=${pct(answers, 50)}`);
  console.log(`reveal_answer_p99_ms=${pct(answers, 99)}`);
  console.log(`reveal_answer_max_ms=${answers.length ? answers[answers.length - 1] : 0}`);
  console.log(`reveal_seconds=${secs.toFixed(1)}`);
  console.log(`close_status=${c.status}`);
} else {
  console.error('phase must be prepare or reveal');
  process.exit(2);
}
