// The 智慧客服: POST /api/v1/assistant (public) and `isle ask`. Answers are checked
// against the item's own guide (GET /api/v1/items/{code}), never against copied text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { errorOf, runIsle, startServer } from './server.mjs';

const BIRTH = '330900-GA-100001'; // 出生登记: required materials, some from e-licences

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.stop();
});

const ask = (json, o = {}) => srv.req('POST', '/api/v1/assistant', { json, ...o });

function assertShape(a) {
  for (const k of ['question', 'item', 'item_name', 'intent', 'answer', 'alternatives', 'link', 'phone']) {
    assert.ok(k in a, `answer has ${k}`);
  }
  assert.ok(['find', 'materials', 'time', 'fee', 'place', 'conditions', 'process'].includes(a.intent), a.intent);
  assert.equal(typeof a.answer, 'string');
  assert.match(a.answer, /[\u4e00-\u9fff]/, 'the answer is in Chinese');
  assert.ok(Array.isArray(a.alternatives) && a.alternatives.length <= 3);
  for (const alt of a.alternatives) {
    assert.equal(typeof alt.code, 'string');
    assert.equal(typeof alt.name, 'string');
    assert.notEqual(alt.code, a.item, 'an alternative is not the answered item');
  }
  if (a.item === null) assert.equal(a.link, null);
  else assert.equal(a.link, `/items/${a.item}`);
}

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
  assert.match(e.message, /[\u4e00-\u9fff]/, 'the message is in Chinese');
}

test('materials for the item being looked at: every required material, 免提交 ones named', async () => {
  const item = (await srv.req('GET', `/api/v1/items/${BIRTH}`)).json;
  const r = await ask({ question: '办这个要带啥？', item: BIRTH });
  assert.equal(r.status, 200, r.text);
  const a = r.json;
  assertShape(a);
  assert.equal(a.item, BIRTH);
  assert.equal(a.item_name, item.name);
  assert.equal(a.intent, 'materials');
  assert.equal(a.question, '办这个要带啥？');
  for (const m of item.materials.filter((x) => x.required)) assert.ok(a.answer.includes(m.name), `${m.name} in ${a.answer}`);
  const free = item.materials.filter((x) => x.required && x.licence);
  const tail = a.answer.slice(a.answer.indexOf('其中'));
  for (const m of free) assert.ok(tail.includes(m.name), `${m.name} said to be 免提交`);
  assert.match(a.answer, /免提交/);
  assert.equal(a.phone, null);
});

test('time, fee and place come from the guide fields', async () => {
  const item = (await srv.req('GET', `/api/v1/items/${BIRTH}`)).json;
  const t = (await ask({ question: '多久能办好', item: BIRTH })).json;
  assert.equal(t.intent, 'time');
  assert.match(t.answer, Number(item.promise_days) === 0 ? /即办/ : new RegExp(`${item.promise_days} 个工作日`));
  const f = (await ask({ question: '要钱吗', item: BIRTH })).json;
  assert.equal(f.intent, 'fee');
  assert.ok(f.answer.includes(item.fee), f.answer);
  const p = (await ask({ question: '去哪里办', item: BIRTH })).json;
  assert.equal(p.intent, 'place');
  assert.ok(p.answer.includes(item.place.slice(0, 12)), p.answer);
  assert.ok(p.answer.includes(item.hours.split('；')[0]), 'hours given');
});

test('a question naming an item finds it; close matches come as alternatives', async () => {
  const r = await ask({ question: '出生登记怎么办理' });
  assert.equal(r.status, 200, r.text);
  assertShape(r.json);
  assert.equal(r.json.item, BIRTH);
  assert.equal(r.json.intent, 'process');
  const steps = (await srv.req('GET', `/api/v1/items/${BIRTH}`)).json.process;
  assert.ok(r.json.answer.includes(steps[0].split('：')[0]), 'the first step is named');

  const p = await ask({ question: '护照' });
  assertShape(p.json);
  assert.equal(p.json.intent, 'find');
  assert.ok(p.json.alternatives.length >= 1, 'several passport items: alternatives offered');
  const s = (await srv.req('GET', `/api/v1/search?q=${encodeURIComponent('护照')}&limit=5`)).json;
  const found = new Set(s.items.map((x) => x.code));
  assert.ok(found.has(p.json.item));
  for (const alt of p.json.alternatives) assert.ok(found.has(alt.code), `${alt.code} is a search hit`);
});

test('honest when it does not know: no item, a phone number, nothing invented', async () => {
  const r = await ask({ question: '明天的船票还有没有' });
  assert.equal(r.status, 200, r.text);
  assertShape(r.json);
  assert.equal(r.json.item, null);
  assert.match(r.json.phone, /^[\d-]+$/);
  assert.ok(r.json.answer.includes(r.json.phone), 'the phone is in the answer');
  assert.deepEqual(r.json.alternatives, []);
});

test('anyone may ask; signed-in users too', async () => {
  const s = await srv.login('citizen');
  const r = await ask({ question: '出生登记要多久' }, { auth: s });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.item, BIRTH);
});

test('bad requests: missing, empty, over-long question; bad or unknown item; extra fields', async () => {
  assertError(await ask({}), 400, 'invalid_argument', 'question');
  assertError(await ask({ question: '' }), 400, 'invalid_argument', 'question');
  assertError(await ask({ question: 42 }), 400, 'invalid_argument', 'question');
  assertError(await ask({ question: '证'.repeat(167) }), 400, 'invalid_argument', 'question'); // 501 bytes
  const ok = await ask({ question: '证'.repeat(166) }); // 498 bytes
  assert.equal(ok.status, 200, ok.text);
  assertError(await ask({ question: '多少钱', item: 5 }), 400, 'invalid_argument', 'item');
  assertError(await ask({ question: '多少钱', item: '../etc' }), 400, 'invalid_argument', 'item');
  assertError(await ask({ question: '多少钱', item: '330900-GA-999999' }), 404, 'not_found');
  assertError(await ask({ question: '多少钱', user: 'x' }), 400, 'invalid_argument', 'user');
  const big = await srv.req('POST', '/api/v1/assistant', {
    body: JSON.stringify({ question: '多少钱', pad: 'x'.repeat(10000) }),
    headers: { 'Content-Type': 'application/json' },
  });
  assert.equal(big.status, 413, big.text);
  const form = await srv.req('POST', '/api/v1/assistant', { body: 'question=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(form.status, 415, form.text);
  assert.equal((await srv.req('GET', '/api/v1/assistant')).status, 405);
});

test('isle ask prints the same answer as the API', async () => {
  for (const [question, item] of [['出生登记要带什么', null], ['多少钱', BIRTH], ['明天的船票还有没有', null]]) {
    const args = ['--db', srv.dbPath, 'ask', '--json', ...(item ? ['--item', item] : []), question];
    const r = runIsle(args);
    assert.equal(r.status, 0, r.stderr);
    const cli = JSON.parse(r.stdout);
    const api = (await ask(item ? { question, item } : { question })).json;
    assert.deepEqual(cli, api, question);
  }
  const plain = runIsle(['--db', srv.dbPath, 'ask', '出生登记要带什么']);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /出生医学证明/);
  assert.match(plain.stdout, new RegExp(`/items/${BIRTH}`));
  const usage = runIsle(['--db', srv.dbPath, 'ask']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: isle ask/);
  const batch = runIsle(['--db', srv.dbPath, 'ask', '--batch'], { input: '出生登记要带什么\n护照多少钱\n' });
  assert.equal(batch.status, 0, batch.stderr);
  const lines = batch.stdout.trim().split('\n').map((l) => l.split('\t'));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0].slice(0, 3), ['出生登记要带什么', 'materials', BIRTH]);
  assert.equal(lines[1][1], 'fee');
});
