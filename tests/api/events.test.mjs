// Server-Sent Events: subscribe, publish, authorization and topic validation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { errorOf, sseSubscribe, startServer } from './server.mjs';

let srv;
let admin;
before(async () => {
  srv = await startServer();
  admin = await srv.loginToken('admin');
});
after(async () => { await srv?.stop(); });

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

/** Open an SSE stream on this file's server (see sseSubscribe in server.mjs). */
function subscribe(topic, headers = {}) {
  return sseSubscribe(srv.base, topic, headers);
}

async function publish(topic, body, auth = admin) {
  return srv.req('POST', `/api/v1/events/${topic}`, { token: auth?.token, json: body });
}

test('subscribe to a public topic and receive a published event', async () => {
  const sub = await subscribe('public.test');
  try {
    assert.equal(sub.res.status, 200);
    assert.match(sub.res.headers.get('content-type'), /^text\/event-stream/);
    assert.match(sub.res.headers.get('cache-control') || '', /no-cache|no-store/);
    const p = await publish('public.test', { event: 'hello', data: { n: 42, s: '舟山' } });
    assert.equal(p.status, 202, p.text);
    assert.ok(Number.isInteger(p.json.id));
    assert.ok(p.json.subscribers >= 1, `subscribers: ${p.json.subscribers}`);
    const ev = await sub.next((e) => e.event === 'hello');
    assert.equal(ev.id, String(p.json.id));
    assert.deepEqual(JSON.parse(ev.data), { n: 42, s: '舟山' });
    // a second event arrives in order with a larger id
    const p2 = await publish('public.test', { event: 'second', data: {} });
    const ev2 = await sub.next((e) => e.event === 'second');
    assert.ok(Number(ev2.id) > Number(ev.id));
    assert.equal(ev2.id, String(p2.json.id));
    // events of another topic are not delivered here
    await publish('public.other', { event: 'elsewhere', data: {} });
    await publish('public.test', { event: 'third', data: {} });
    await sub.next((e) => e.event === 'third');
    assert.ok(!sub.events.some((e) => e.event === 'elsewhere'), 'topic isolation');
  } finally {
    await sub.close();
  }
});

test('SSE subscribers show up in /metrics', async () => {
  const sub = await subscribe('public.metrics');
  try {
    assert.equal(sub.res.status, 200);
    const m = await srv.req('GET', '/metrics');
    const line = /^isle_sse_subscribers(?:\{[^}]*\})? (\d+)/m.exec(m.text);
    assert.ok(line, 'isle_sse_subscribers present');
    assert.ok(Number(line[1]) >= 1, `isle_sse_subscribers ${line[1]}`);
  } finally {
    await sub.close();
  }
});

test('publishing to a topic without subscribers reports 0', async () => {
  const p = await publish('public.nobody-listens', { event: 'x', data: { a: 1 } });
  assert.equal(p.status, 202, p.text);
  assert.equal(p.json.subscribers, 0);
});

test('a non-public topic needs a login', async () => {
  const r = await srv.req('GET', '/api/v1/events/private.test', { headers: { Accept: 'text/event-stream' } });
  assertError(r, 401, 'unauthenticated');
  const s = await srv.login('citizen');
  const sub = await subscribe('private.test', { Cookie: s.cookie });
  try {
    assert.equal(sub.res.status, 200);
    assert.match(sub.res.headers.get('content-type'), /^text\/event-stream/);
    const p = await publish('private.test', { event: 'secret', data: { ok: true } });
    assert.equal(p.status, 202);
    const ev = await sub.next((e) => e.event === 'secret');
    assert.deepEqual(JSON.parse(ev.data), { ok: true });
  } finally {
    await sub.close();
  }
});

test('publishing as a citizen → 403, anonymously → 401', async () => {
  const cit = await srv.loginToken('citizen');
  assertError(await publish('public.test', { event: 'x', data: {} }, cit), 403, 'permission_denied');
  assertError(await publish('public.test', { event: 'x', data: {} }, null), 401, 'unauthenticated');
});

test('an agent\'s task channel is not open to other users', async () => {
  const cit = await srv.loginToken('citizen');
  const r = await srv.req('GET', '/api/v1/events/agent.1', { token: cit.token, headers: { Accept: 'text/event-stream' } });
  assertError(r, 403, 'permission_denied');
});

test('bad topic names → 400', async () => {
  for (const t of ['Bad.Topic', 'bad!topic', 'a'.repeat(65), 'sp%20ace', '%C3%A9t%C3%A9']) {
    const r = await srv.req('GET', `/api/v1/events/${t}`, { headers: { Accept: 'text/event-stream' } });
    assertError(r, 400, 'invalid_argument');
    assertError(await publish(t, { event: 'x', data: {} }), 400, 'invalid_argument');
  }
  // 64 characters is fine
  const ok = await publish('a'.repeat(64), { event: 'x', data: {} });
  assert.equal(ok.status, 202, ok.text);
});

test('publish body is validated', async () => {
  assertError(await publish('public.test', { event: 'x', data: {}, extra: 1 }), 400, 'invalid_argument', 'extra');
  assertError(await publish('public.test', { event: 42, data: {} }), 400, 'invalid_argument', 'event');
  assertError(await publish('public.test', { event: 'bad\nname', data: {} }), 400, 'invalid_argument', 'event');
});

test('an SSE stream outlives the request timeout (the 408 timer is not left armed)', async () => {
  // A server with a 2-second request timeout: the stream must still be open after 4 s.
  const s2 = await startServer({ env: { ISLE_REQUEST_TIMEOUT: '2' } });
  try {
    const admin = await s2.loginToken('admin');
    const sub = await sseSubscribe(s2.base, 'public.timer-check');
    assert.equal(sub.res.status, 200);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(sub.ended, false, 'the stream is still open');
    const r = await s2.req('POST', '/api/v1/events/public.timer-check', { token: admin.token, json: { event: 'ping', data: { n: 1 } } });
    assert.equal(r.status, 202);
    const ev = await sub.next((e) => e.event === 'ping');
    assert.equal(JSON.parse(ev.data).n, 1);
    assert.ok(!sub.events.some((e) => /408|请求超时/.test(e.data)), 'no 408 written into the stream');
    await sub.close();
  } finally {
    await s2.stop();
  }
});
