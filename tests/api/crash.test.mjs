// A node killed in the middle of a write leaves nothing half-written: the
// process dies (ISLE_FAULT, as kill -9 would) inside the transaction that creates
// a 一件事 and its member cases; a fresh node on the same database finds neither
// the bundle nor any member, and the audit chain still verifies. Both backends.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { dbQuery, runIsle, startServer } from './server.mjs';

const PDF = Buffer.from('%PDF-1.4\n%%EOF\n');

test('a node killed mid-transaction leaves no half-written case', async () => {
  const first = await startServer({ env: { ISLE_FAULT: 'cases.create.bundle' } });
  let second;
  try {
    const company = await first.loginToken('company');
    const fd = new FormData();
    fd.append('file', new Blob([PDF]), 'm.pdf');
    const up = await first.req('POST', '/api/v1/uploads', { auth: company, body: fd });
    assert.equal(up.status, 201, up.text);
    const bundle = (await first.req('GET', '/api/v1/bundles/YJS-001')).json;
    const names = new Set();
    for (const m of bundle.items) {
      for (const x of (await first.req('GET', `/api/v1/items/${m.code}`)).json.materials) if (x.required) names.add(x.name);
    }
    const fields = (await first.req('GET', '/api/v1/bundles/YJS-001/form', { auth: company })).json.fields;
    const sample = { text: '舟渔水产', textarea: '水产品', number: 1, date: '2026-11-20', phone: '05802021234',
      credit_code: '91330900MA2A0B1C2D', idcard: '330902195203140021' };
    const form = {};
    for (const f of fields) if (f.required) form[f.name] = f.type === 'select' ? f.options[0] : sample[f.type];
    const before = Number(dbQuery(first.dbPath, 'SELECT COUNT(*) FROM cases'));
    // Only the application's own rows: the watchers of a live node (screening, indicators,
    // overdue cases) audit their own work meanwhile.
    const auditCases = "SELECT COUNT(*) FROM audit_log WHERE action = 'case.create'";
    const auditBefore = Number(dbQuery(first.dbPath, auditCases));
    let died = false;
    try {
      const r = await first.req('POST', '/api/v1/cases', {
        auth: company,
        json: { bundle_code: 'YJS-001', form, materials: [...names].map((name) => ({ name, by: 'upload', file_id: up.json.files[0].id })) },
      });
      died = r.status >= 500;
    } catch {
      died = true; // the connection broke: the node died
    }
    assert.ok(died, 'the node died in the middle of the request');
    for (let i = 0; i < 50 && !first.exited; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(first.exited, 'the process is gone');

    second = await startServer({ dbPath: first.dbPath });
    assert.equal(Number(dbQuery(first.dbPath, 'SELECT COUNT(*) FROM cases')), before, 'no case row survived');
    assert.equal(Number(dbQuery(first.dbPath, "SELECT COUNT(*) FROM cases WHERE bundle_code = 'YJS-001'")), 0);
    assert.equal(Number(dbQuery(first.dbPath, 'SELECT COUNT(*) FROM case_materials')), Number(dbQuery(first.dbPath,
      'SELECT COUNT(*) FROM case_materials m JOIN cases c ON c.id = m.case_id')));
    assert.equal(Number(dbQuery(first.dbPath, auditCases)), auditBefore, 'no audit rows of the lost write');
    const v = runIsle(['--db', first.dbPath, 'audit', 'verify']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    // The survivor takes the same application normally.
    const again = await second.req('GET', '/api/v1/cases?mine=1', { auth: await second.loginToken('company') });
    assert.equal(again.status, 200, again.text);
  } finally {
    await second?.stop();
    await first.stop();
  }
});
