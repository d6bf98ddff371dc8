// Two `isle serve` nodes on one PostgreSQL database (api-pg run only): sessions,
// live events, search index changes and the job queue are shared; a PostgreSQL restart is survived.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';

import { BIN, ROOT, isPg, isleEnv, runIsleOk, sseSubscribe, startServer } from './server.mjs';

const skip = !isPg && 'needs PostgreSQL (the api-pg run)';
let a;
let b;
before(async () => {
  if (!isPg) return;
  a = await startServer();
  b = await startServer({ dbPath: a.dbPath, args: ['--files-dir', `${a.dir}/files`] });
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

test('a session made on node A works on node B', { skip }, async () => {
  const s = await a.loginToken('staff');
  const me = await b.req('GET', '/api/v1/session', { token: s.token });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.user.login, 'staff');
});

test('an item edited on node A is found by search on node B within 1 s', { skip }, async () => {
  const code = '330900-RS-200021';
  const before = await b.req('GET', `/api/v1/search?q=${encodeURIComponent('海岛特色')}`);
  assert.equal(before.status, 200, before.text);
  assert.ok(!before.json.items.some((x) => x.code === code));
  const staff = await a.loginToken('staff');
  const it = (await a.req('GET', `/api/v1/items/${code}`)).json;
  for (const k of ['version', 'updated_at', 'popularity', 'bundles']) delete it[k];
  for (const m of it.materials) { delete m.licence_issuer; delete m.licence_trust_level; }
  it.name = `${it.name}（海岛特色）`;
  const put = await a.req('PUT', `/api/v1/items/${code}`, { token: staff.token, json: it });
  assert.equal(put.status, 200, put.text);
  let found = false;
  for (let i = 0; i < 20 && !found; i++) {
    const r = await b.req('GET', `/api/v1/search?q=${encodeURIComponent('海岛特色')}`);
    found = r.json.items.some((x) => x.code === code && x.name === it.name);
    if (!found) await new Promise((res) => setTimeout(res, 50));
  }
  assert.ok(found, 'node B re-indexed the item edited on node A');
});

test('an event published on node B reaches a subscriber on node A within 1 s', { skip }, async () => {
  const admin = await b.loginToken('admin');
  const subA = await sseSubscribe(a.base, 'public.hall');
  const subB = await sseSubscribe(b.base, 'public.hall');
  try {
    assert.equal(subA.res.status, 200);
    const t0 = Date.now();
    const p = await b.req('POST', '/api/v1/events/public.hall', {
      token: admin.token, json: { event: 'price', data: { lot: 7, price: '1234.50', who: '东港建设' } },
    });
    assert.equal(p.status, 202, p.text);
    const ev = await subA.next((e) => e.event === 'price', 1000);
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    assert.equal(ev.id, String(p.json.id));
    assert.deepEqual(JSON.parse(ev.data), { lot: 7, price: '1234.50', who: '东港建设' });
    const evB = await subB.next((e) => e.event === 'price', 1000);
    assert.equal(evB.id, ev.id, 'the same id on both nodes');

    // Ids grow across nodes whichever node publishes, in the order published.
    const ids = [];
    for (let i = 0; i < 6; i++) {
      const node = i % 2 ? a : b;
      const s = i % 2 ? await a.loginToken('admin') : admin;
      const r = await node.req('POST', '/api/v1/events/public.hall', { token: s.token, json: { event: `n${i}`, data: i } });
      assert.equal(r.status, 202, r.text);
      ids.push(r.json.id);
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `ids grow: ${ids}`);
    const last = await subA.next((e) => e.event === 'n5', 2000);
    const seen = subA.events.filter((e) => /^n\d$/.test(e.event));
    assert.deepEqual(seen.map((e) => e.event), ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'], 'in order on A');
    assert.equal(last.id, String(ids[5]));

    // An event larger than a NOTIFY payload (8000 bytes) travels through the table.
    const big = 'x'.repeat(20000);
    const pb = await b.req('POST', '/api/v1/events/public.hall', { token: admin.token, json: { event: 'big', data: { big } } });
    assert.equal(pb.status, 202, pb.text);
    const evBig = await subA.next((e) => e.event === 'big', 2000);
    assert.equal(JSON.parse(evBig.data).big.length, 20000);
    assert.equal(evBig.id, String(pb.json.id));
  } finally {
    await subA.close();
    await subB.close();
  }
  // A subscriber reconnecting to the other node with Last-Event-ID gets what it missed.
  const r1 = await b.req('POST', '/api/v1/events/public.hall', { token: admin.token, json: { event: 'missed', data: 1 } });
  const again = await sseSubscribe(a.base, 'public.hall', { 'Last-Event-ID': String(r1.json.id - 1) });
  try {
    const ev = await again.next((e) => e.event === 'missed', 2000);
    assert.equal(ev.id, String(r1.json.id));
  } finally {
    await again.close();
  }
});

test('jobs claimed from both nodes\' databases are claimed exactly once', { skip }, async () => {
  const ids = runIsleOk(['--db', a.dbPath, 'jobs', 'enqueue', '--kind', 'nodes', '--count', '40']).stdout.trim().split('\n').map(Number);
  const claim = (worker) => new Promise((resolve, reject) => {
    const p = spawn(BIN, ['--db', a.dbPath, 'jobs', 'claim', '--kind', 'nodes', '--worker', worker, '--all'], { cwd: ROOT, env: isleEnv() });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean).map((l) => Number(l.split('\t')[0]))) : reject(new Error(`exit ${code}`))));
  });
  const [x, y] = await Promise.all([claim('node-a'), claim('node-b')]);
  assert.deepEqual([...x, ...y].sort((m, n) => m - n), ids);
});

function pgctl(cmd) {
  const [bash, script] = process.env.ISLE_TEST_PG_CTL.split(' ');
  const r = spawnSync(bash, [script, cmd, process.env.ISLE_TEST_PG_DIR], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `pg-cluster ${cmd}: ${r.stdout}${r.stderr}`);
}

test('PostgreSQL restart: 503 with a JSON error during the outage, then service resumes', { skip: skip || (!process.env.ISLE_TEST_PG_CTL && 'needs ISLE_TEST_PG_CTL') }, async () => {
  const s = await a.loginToken('staff');
  const admin = await b.loginToken('admin');
  assert.equal((await a.req('GET', '/api/v1/session', { token: s.token })).status, 200);
  const sub = await sseSubscribe(a.base, 'public.after');
  pgctl('pause');
  try {
    for (const [node, path, auth] of [[a, '/api/v1/session', s], [b, '/api/v1/places/towns', null], [a, '/api/v1/audit?limit=1', admin]]) {
      const r = await node.req('GET', path, { token: auth?.token });
      assert.equal(r.status, 503, `${path} during the outage: ${r.status} ${r.text}`);
      assert.equal(r.json?.error?.code, 'unavailable', r.text);
      assert.ok(r.headers.get('retry-after'), 'Retry-After');
    }
    const h = await a.req('GET', '/healthz');
    assert.equal(h.status, 503);
    const p = await b.req('POST', '/api/v1/events/public.after', { token: admin.token, json: { event: 'lost', data: 1 } });
    assert.equal(p.status, 503, p.text);
  } finally {
    pgctl('resume');
  }
  assert.equal(a.exited, null, 'node A still running');
  assert.equal(b.exited, null, 'node B still running');
  // Each worker reconnects on its next statement (at most once a second while failing).
  const deadline = Date.now() + 15000;
  let ok = 0;
  while (Date.now() < deadline && ok < 4) {
    const r = await a.req('GET', '/api/v1/session', { token: s.token });
    ok = r.status === 200 ? ok + 1 : 0;
    if (ok < 4) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(ok, 4, 'requests succeed again on node A');
  assert.equal((await b.req('GET', '/api/v1/places/towns')).status, 200);
  // The listeners are back too: an event from B reaches A.
  let delivered = false;
  for (let i = 0; i < 20 && !delivered; i++) {
    const p = await b.req('POST', '/api/v1/events/public.after', { token: admin.token, json: { event: 'back', data: i } });
    if (p.status === 202) {
      try { await sub.next((e) => e.event === 'back', 1000); delivered = true; } catch { /* listener reconnecting */ }
    } else {
      await new Promise((res) => setTimeout(res, 250));
    }
  }
  await sub.close();
  assert.ok(delivered, 'events cross nodes after the restart');
});
