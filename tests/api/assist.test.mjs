// 办事不出岛: station details, agents (staff CRUD, the agent's own duty and position),
// assisted requests (帮办代办) — phone intake for a resident without an account, the
// resident's online 帮我办, a village that does not exist, accept by the assigned agent
// only, decline → someone else, completion with a photo, cancellation, consent then an
// application on the resident's behalf, the live task stream, SLA escalation by the
// watcher, nobody on duty (the request waits and escalates, never dropped), the CLI.
//
// At intake the dispatcher may find an agent or leave the request waiting (nobody
// suitable on duty): the tests accept both, and assign by hand (staff "reassign")
// where they need a particular agent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { PASSWORD, dbQuery, errorOf, runIsle, startServer, uniq } from './server.mjs';

const LIUHENG = '330903100';
const VILLAGE = '330903100204'; // 六横镇 嵩山村
const CENTRE = 'S0018'; // 六横镇便民服务中心, 李代办's station
const ITEM = '330900-YB-200035'; // 基本医疗保险关系转移接续 (form: name, id_number, phone)

let srv;
let citizen, staff, agentA, agentB, supervisor, admin, approver, citizen2;
let agentAId, agentBId;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  if (code) assert.equal(e.code, code);
  if (field !== undefined) assert.equal(e.field, field);
}

async function mkUser(role, name, phone) {
  const login = `${role}_${uniq()}`;
  const r = await srv.req('POST', '/api/v1/users', {
    auth: admin,
    json: { login, password: PASSWORD, role, display_name: name, phone, town_code: LIUHENG },
  });
  assert.equal(r.status, 201, r.text);
  const s = await srv.loginToken(login);
  return { id: s.user.id, ...s };
}

async function phoneIntake(extra = {}) {
  const r = await srv.req('POST', '/api/v1/assist', {
    auth: staff,
    json: {
      village_code: VILLAGE, resident_name: '陈阿公', resident_phone: '13905807777',
      description: '腿脚不便，想办老年优待证', ...extra,
    },
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function get(auth, id) {
  return srv.req('GET', `/api/v1/assist/${id}`, { auth });
}

async function act(auth, id, action, json = {}) {
  return srv.req('POST', `/api/v1/assist/${id}/actions/${action}`, { auth, json });
}

/** Staff hand the request to agent (when it is not already dispatched to them). */
async function assignTo(id, agentId) {
  const cur = await get(staff, id);
  if (cur.json.status === 'dispatched' && cur.json.agent?.id === agentId) return cur.json;
  const r = await act(staff, id, 'reassign', { agent_id: agentId });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'dispatched');
  assert.equal(r.json.agent.id, agentId);
  return r.json;
}

async function waitFor(fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(100);
  }
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

async function upload(auth, bytes, name) {
  const fd = new FormData();
  fd.append('file', new Blob([bytes]), name);
  const r = await srv.req('POST', '/api/v1/uploads', { auth, body: fd });
  assert.equal(r.status, 201, r.text);
  return r.json.files[0].id;
}

before(async () => {
  srv = await startServer({ env: { ISLE_ASSIST_SCAN_MS: '200', ISLE_CASES_SCAN_MS: '0' } });
  citizen = await srv.loginToken('citizen');
  staff = await srv.loginToken('staff');
  agentA = await srv.loginToken('agent');
  supervisor = await srv.loginToken('supervisor');
  admin = await srv.loginToken('admin');
  approver = await srv.loginToken('approver');
  const me = await srv.req('GET', '/api/v1/me/agent', { auth: agentA });
  assert.equal(me.status, 200, me.text);
  agentAId = me.json.id;
  citizen2 = await mkUser('citizen', '李大伯', '13905809999');
  agentB = await mkUser('agent', '周代办', '13905805679');
  const list = await srv.req('GET', '/api/v1/assist?limit=1', { auth: staff });
  assert.equal(list.status, 200, list.text);
});
after(async () => { await srv?.stop(); });

test('station details: public read, staff edit (hours, services, phone), the list still works', async () => {
  const s = await srv.req('GET', `/api/v1/stations/${CENTRE}`);
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.name, '六横镇便民服务中心');
  assert.equal(s.json.kind, '服务中心');
  assert.match(s.json.hours, /^\d\d:\d\d-\d\d:\d\d/);
  assert.match(s.json.phone, /^0580-\d{7}$/); // the demo gives each town centre a number
  assert.ok(s.json.services.some((x) => x.code === 'proxy' && x.name === '帮办代办'));
  assert.equal(s.json.services_default, true);
  assert.ok(s.json.agents.total >= 2);

  assertError(await srv.req('PUT', `/api/v1/stations/${CENTRE}`, { auth: citizen, json: { phone: '1' } }), 403);
  assertError(await srv.req('PUT', '/api/v1/stations/S0231', { auth: staff, json: { hours: '8点到12点' } }),
    400, 'invalid_argument', 'hours');
  assertError(await srv.req('PUT', '/api/v1/stations/S0231', { auth: staff, json: { services: ['proxy', 'magic'] } }),
    400, 'invalid_argument', 'services[1]');
  assertError(await srv.req('PUT', '/api/v1/stations/S0231', { auth: staff, json: { colour: 'red' } }),
    400, 'invalid_argument', 'colour');
  assertError(await srv.req('PUT', '/api/v1/stations/S9999', { auth: staff, json: { phone: '0580-1234567' } }), 404);
  const put = await srv.req('PUT', '/api/v1/stations/S0231', {
    auth: staff, json: { hours: '08:00-11:30,14:00-16:00', services: ['proxy', ITEM], phone: '0580-6090001' },
  });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.hours, '08:00-11:30,14:00-16:00');
  assert.equal(put.json.hours_default, false);
  assert.deepEqual(put.json.services.map((x) => x.code), ['proxy', ITEM]);
  assert.equal(put.json.services[1].name, '基本医疗保险关系转移接续');
  assert.equal(put.json.phone, '0580-6090001');
  const back = await srv.req('PUT', '/api/v1/stations/S0231', { auth: staff, json: { services: null } });
  assert.equal(back.json.services_default, true);
  assert.equal(back.json.hours, '08:00-11:30,14:00-16:00');
  const audit = dbQuery(srv.dbPath, "SELECT COUNT(*) FROM audit_log WHERE action = 'station.update' AND object_id = 'S0231'");
  assert.equal(audit, '2');
  // The public list of api_places is unchanged.
  const list = await srv.req('GET', `/api/v1/places/stations?town=${LIUHENG}&limit=5`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.items.length, 5);
});

test('agents: the demo roster, filters, staff create/update, roles', async () => {
  const all = await srv.req('GET', '/api/v1/agents?limit=1', { auth: staff });
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.total, 1470);
  const town = await srv.req('GET', `/api/v1/agents?town=${LIUHENG}&on_duty=true&limit=200`, { auth: staff });
  assert.equal(town.status, 200, town.text);
  assert.ok(town.json.total > 10);
  assert.ok(town.json.items.every((a) => a.town_code === LIUHENG && a.on_duty === true));
  assert.ok(town.json.items.every((a) => !a.phone || /\*{4}/.test(a.phone)), 'phones masked in lists');
  const li = town.json.items.find((a) => a.login === 'agent');
  assert.equal(li.name, '李代办');
  assert.equal(li.kind, 'full_time');
  assert.equal(li.station_id, CENTRE);
  assert.deepEqual(li.skills, { all: true });
  const kinds = await srv.req('GET', '/api/v1/agents?kind=part_time&island=liuheng&limit=1', { auth: staff });
  assert.ok(kinds.json.total > 0);

  assertError(await srv.req('GET', '/api/v1/agents', { auth: citizen }), 403);
  assertError(await srv.req('GET', '/api/v1/agents', { auth: agentA }), 403);
  assertError(await srv.req('GET', '/api/v1/agents?town=12', { auth: staff }), 400, 'invalid_argument', 'town');
  assertError(await srv.req('GET', '/api/v1/agents?on_duty=maybe', { auth: staff }), 400, 'invalid_argument', 'on_duty');

  assertError(await srv.req('POST', '/api/v1/agents', {
    auth: staff, json: { name: '周代办', kind: 'part_time', station_id: 'S9999' },
  }), 400, 'invalid_argument', 'station_id');
  assertError(await srv.req('POST', '/api/v1/agents', {
    auth: staff, json: { name: '周代办', kind: 'sometimes', station_id: CENTRE },
  }), 400, 'invalid_argument', 'kind');
  assertError(await srv.req('POST', '/api/v1/agents', {
    auth: staff, json: { name: '周代办', kind: 'part_time', station_id: CENTRE, user_id: citizen2.id },
  }), 400, 'invalid_argument', 'user_id');
  const c = await srv.req('POST', '/api/v1/agents', {
    auth: staff,
    json: {
      name: '周代办', kind: 'part_time', station_id: CENTRE, user_id: agentB.id, phone: '13905805679',
      skills: { departments: ['舟山市医疗保障局'] }, hours: '08:30-11:30,14:00-17:00',
    },
  });
  assert.equal(c.status, 201, c.text);
  agentBId = c.json.id;
  assert.equal(c.json.island_id, 'liuheng');
  assert.equal(c.json.town_code, LIUHENG);
  assert.equal(c.json.capacity, 3);
  assert.equal(c.json.phone, '13905805679', 'one record for staff shows the phone');
  assertError(await srv.req('POST', '/api/v1/agents', {
    auth: staff, json: { name: '重复', kind: 'part_time', station_id: CENTRE, user_id: agentB.id },
  }), 409, 'conflict', 'user_id');
  const u = await srv.req('PUT', `/api/v1/agents/${agentBId}`, {
    auth: supervisor, json: { capacity: 5, skills: { all: true } },
  });
  assert.equal(u.status, 200, u.text);
  assert.equal(u.json.capacity, 5);
  assertError(await srv.req('PUT', `/api/v1/agents/${agentBId}`, { auth: staff, json: { capacity: 0 } }),
    400, 'invalid_argument', 'capacity');
  assertError(await srv.req('GET', '/api/v1/agents/999999', { auth: staff }), 404);
  const me = await srv.req('GET', '/api/v1/me/agent', { auth: agentB });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.id, agentBId);
  assert.equal(me.json.topic, `agent.${agentBId}`);
});

test("the agent's own record: duty and position; other roles are refused", async () => {
  const pos = await srv.req('PUT', '/api/v1/me/agent', {
    auth: agentA, json: { on_duty: true, position: { island_id: 'liuheng', lat: 29.745, lon: 122.12 } },
  });
  assert.equal(pos.status, 200, pos.text);
  assert.equal(pos.json.on_duty, true);
  assert.equal(pos.json.position.island_id, 'liuheng');
  assert.ok(pos.json.position.at);
  assertError(await srv.req('PUT', '/api/v1/me/agent', {
    auth: agentA, json: { position: { island_id: 'atlantis' } },
  }), 400, 'invalid_argument', 'position.island_id');
  assertError(await srv.req('PUT', '/api/v1/me/agent', {
    auth: agentA, json: { position: { island_id: 'liuheng', lat: 95, lon: 122 } },
  }), 400, 'invalid_argument', 'position.lat');
  assertError(await srv.req('GET', '/api/v1/me/agent', { auth: citizen }), 403);
  const back = await srv.req('PUT', '/api/v1/me/agent', { auth: agentA, json: { position: null } });
  assert.equal(back.json.position, null);
  // The audit keeps the island, never the point.
  const a = dbQuery(srv.dbPath, "SELECT after_json FROM audit_log WHERE action = 'agent.position' ORDER BY id LIMIT 1");
  assert.match(a, /liuheng/);
  assert.doesNotMatch(a, /29\.745/);
});

test('phone intake by staff for a resident without an account', async () => {
  const r = await phoneIntake({ urgency: 'urgent', preferred_at: '2026-12-31 09:30' });
  assert.match(r.request_no, /^BB\d{6}\d{7}$/);
  assert.equal(r.channel, 'phone');
  assert.equal(r.resident.id, null);
  assert.equal(r.resident.name, '陈阿公');
  assert.equal(r.resident.phone, '13905807777');
  assert.equal(r.village.name, '嵩山村');
  assert.equal(r.town.code, LIUHENG);
  assert.equal(r.island.id, 'liuheng');
  assert.equal(r.urgency, 'urgent');
  assert.equal(r.preferred_at, '2026-12-31T01:30:00Z');
  assert.ok(['new', 'dispatched'].includes(r.status), r.status);
  if (r.status === 'dispatched') assert.ok(r.dispatch.reason && r.agent.id > 0);
  if (r.status === 'new') assert.ok(r.waiting);
  assert.ok(r.sla.accept_due > r.created_at && r.sla.done_due > r.sla.accept_due);
  assert.equal(r.events[0].action, 'create');
  assert.equal(r.events[0].actor.name, '王窗口');
  // The resident has no account: the message goes by SMS to the phone given.
  const sms = dbQuery(srv.dbPath, `SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'assist:${r.id}:create:%'`);
  assert.equal(sms, '1');
  const audit = dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE action = 'assist.create' AND object_id = '${r.id}'`);
  assert.equal(audit, '1');
  // Staff need a name and a phone for someone without an account.
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: staff, json: { village_code: VILLAGE, resident_name: '无名' },
  }), 400, 'invalid_argument', 'resident_phone');
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: staff, json: { village_code: VILLAGE, resident_name: '某', resident_phone: 'call me' },
  }), 400, 'invalid_argument', 'resident_phone');
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: staff, json: { village_code: VILLAGE, channel: 'online', resident_id: citizen.user.id },
  }), 400, 'invalid_argument', 'channel');
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: approver, json: { village_code: VILLAGE },
  }), 403);
});

test('a village that does not exist is refused, naming the field', async () => {
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: staff, json: { village_code: '330903100999', resident_name: '某', resident_phone: '13900000000' },
  }), 400, 'invalid_argument', 'village_code');
  assertError(await srv.req('POST', '/api/v1/assist', { auth: citizen, json: { village_code: 'lost' } }),
    400, 'invalid_argument', 'village_code');
  assertError(await srv.req('POST', '/api/v1/assist', { auth: citizen, json: {} }),
    400, 'invalid_argument', 'village_code');
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: citizen, json: { village_code: VILLAGE, item_code: '330900-GA-999999' },
  }), 400, 'invalid_argument', 'item_code');
});

let onlineId;
test('online 帮我办 by the citizen: their own, invisible to others, no duplicates', async () => {
  const r = await srv.req('POST', '/api/v1/assist', {
    auth: citizen, json: { village_code: VILLAGE, item_code: ITEM, address: '嵩山村 12 号', description: '帮我办医保转移' },
  });
  assert.equal(r.status, 201, r.text);
  onlineId = r.json.id;
  assert.equal(r.json.channel, 'online');
  assert.equal(r.json.resident.id, citizen.user.id);
  assert.equal(r.json.resident.name, '张阿婆');
  assert.equal(r.json.item_name, '基本医疗保险关系转移接续');
  assert.equal(r.json.address, '嵩山村 12 号');
  assert.ok(r.json.actions.includes('cancel') && r.json.actions.includes('consent'));
  assert.ok(!r.json.actions.includes('reassign'));
  // The resident's inbox has the confirmation.
  const inbox = await srv.req('GET', '/api/v1/me/notifications', { auth: citizen });
  assert.ok(inbox.json.items.some((n) => n.template === 'assist_created' && n.link === `/assist/${onlineId}`));
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: citizen, json: { village_code: VILLAGE, item_code: ITEM },
  }), 409, 'conflict', 'item_code');
  assertError(await srv.req('POST', '/api/v1/assist', {
    auth: citizen, json: { village_code: VILLAGE, resident_id: citizen2.id },
  }), 403);
  // Others: 404, never a hint that it exists.
  assertError(await get(citizen2, onlineId), 404, 'not_found');
  assertError(await get(approver, onlineId), 404, 'not_found');
  assertError(await get(citizen, 999999), 404, 'not_found');
  const mine = await srv.req('GET', '/api/v1/assist', { auth: citizen });
  assert.ok(mine.json.items.some((x) => x.id === onlineId));
  assert.ok(mine.json.items.every((x) => x.resident.id === citizen.user.id));
  const other = await srv.req('GET', '/api/v1/assist', { auth: citizen2 });
  assert.equal(other.json.total, 0);
  assertError(await srv.req('GET', '/api/v1/assist', { auth: approver }), 403);
  const note = await srv.req('POST', `/api/v1/assist/${onlineId}/notes`, { auth: citizen, json: { text: '下午在家' } });
  assert.equal(note.status, 201, note.text);
  assert.ok(note.json.events.some((e) => e.action === 'note' && e.note === '下午在家'));
});

test('the assigned agent accepts; another agent cannot', async () => {
  const r = await phoneIntake();
  await assignTo(r.id, agentAId);
  // Agent B neither sees nor accepts it.
  assertError(await get(agentB, r.id), 404, 'not_found');
  assertError(await act(agentB, r.id, 'accept'), 404, 'not_found');
  assertError(await act(staff, r.id, 'accept'), 403, 'permission_denied');
  assertError(await act(agentA, r.id, 'fly'), 400, 'invalid_argument', 'action');
  assertError(await act(agentA, r.id, 'accept', { version: 1 }), 409, 'conflict', 'version');
  const seen = await get(agentA, r.id);
  assert.equal(seen.status, 200, seen.text);
  assert.deepEqual(seen.json.actions.filter((a) => a !== 'note'), ['accept', 'decline']);
  const ok = await act(agentA, r.id, 'accept', { version: seen.json.version });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.status, 'accepted');
  assert.ok(ok.json.accepted_at);
  assertError(await act(agentA, r.id, 'accept'), 409, 'conflict', 'status');
  const tasks = await srv.req('GET', '/api/v1/assist?status=open', { auth: agentA });
  assert.ok(tasks.json.items.some((x) => x.id === r.id));
  assert.ok(tasks.json.items.every((x) => x.agent.id === agentAId));
  const bTasks = await srv.req('GET', '/api/v1/assist', { auth: agentB });
  assert.ok(!bTasks.json.items.some((x) => x.id === r.id));
  const me = await srv.req('GET', '/api/v1/me/agent', { auth: agentA });
  assert.ok(me.json.open_tasks >= 1);
});

test('decline: the request goes to someone else, never back to the decliner', async () => {
  const r = await phoneIntake();
  await assignTo(r.id, agentAId);
  const d = await act(agentA, r.id, 'decline', { note: '今天在岱山开会' });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.visible, false, 'the decliner no longer sees the task');
  const now = await get(staff, r.id);
  assert.ok(['new', 'dispatched'].includes(now.json.status));
  assert.notEqual(now.json.agent?.id, agentAId);
  const dec = now.json.events.find((e) => e.action === 'decline');
  assert.equal(dec.agent_id, agentAId);
  assert.equal(dec.note, '今天在岱山开会');
  if (now.json.status === 'new') await assignTo(r.id, agentBId);
  const after = await get(staff, r.id);
  assert.notEqual(after.json.agent.id, agentAId);
  assertError(await get(agentA, r.id), 404);
  if (after.json.agent.id === agentBId) {
    const acc = await act(agentB, r.id, 'accept');
    assert.equal(acc.status, 200, acc.text);
  }
});

test('start, wait on a department, resume, complete with a photo', async () => {
  const r = await phoneIntake();
  await assignTo(r.id, agentAId);
  assert.equal((await act(agentA, r.id, 'accept')).status, 200);
  assert.equal((await act(agentA, r.id, 'start')).status, 200);
  assertError(await act(agentA, r.id, 'wait'), 400, 'invalid_argument', 'note');
  const w = await act(agentA, r.id, 'wait', { note: '等待医保局审核' });
  assert.equal(w.json.status, 'waiting_on_department');
  assert.equal((await act(agentA, r.id, 'resume')).json.status, 'in_progress');
  const png = await upload(agentA, PNG, 'done.png');
  const pdf = await upload(agentA, Buffer.from('%PDF-1.4\n%%EOF\n'), 'receipt.pdf');
  const someoneElses = await upload(citizen, PNG, 'mine.png');
  assertError(await act(agentA, r.id, 'complete', { file_id: someoneElses }), 400, 'invalid_argument', 'file_id');
  assertError(await act(agentA, r.id, 'complete', { file_id: pdf }), 415, undefined, 'file_id');
  const done = await act(agentA, r.id, 'complete', { file_id: png, note: '已办好，材料已交' });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.status, 'done');
  assert.ok(done.json.done_at);
  const ev = done.json.events.find((e) => e.action === 'complete');
  assert.equal(ev.file_id, png);
  assert.equal(ev.note, '已办好，材料已交');
  assert.deepEqual(done.json.events.map((e) => e.action).slice(-5),
    ['accept', 'start', 'wait', 'resume', 'complete']);
  assertError(await act(staff, r.id, 'cancel'), 409, 'conflict', 'status');
  // Every change: an event and an audit row; the chain holds.
  const audits = dbQuery(srv.dbPath, `SELECT COUNT(*) FROM audit_log WHERE object_type = 'assist_request' AND object_id = '${r.id}'`);
  assert.equal(Number(audits), done.json.events.length);
  const verify = runIsle(['--db', srv.dbPath, 'audit', 'verify']);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
});

test('the resident cancels; the agent is told and freed', async () => {
  const r = await srv.req('POST', '/api/v1/assist', { auth: citizen2, json: { village_code: VILLAGE } });
  assert.equal(r.status, 201, r.text);
  await assignTo(r.json.id, agentAId);
  assertError(await act(agentA, r.json.id, 'cancel'), 403);
  const c = await act(citizen2, r.json.id, 'cancel', { note: '家人已代为办理' });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.status, 'cancelled');
  assert.ok(c.json.cancelled_at);
  assertError(await act(citizen2, r.json.id, 'cancel'), 409, 'conflict', 'status');
  // open_tasks is recounted from the requests themselves.
  const open = dbQuery(srv.dbPath, `SELECT COUNT(*) FROM assist_requests WHERE agent_id = ${agentAId} AND status IN ('dispatched', 'accepted', 'in_progress', 'waiting_on_department')`);
  const me = await srv.req('GET', '/api/v1/me/agent', { auth: agentA });
  assert.equal(me.json.open_tasks, Number(open));
  const inbox = await srv.req('GET', '/api/v1/me/notifications', { auth: agentA });
  assert.ok(inbox.json.items.some((n) => n.template === 'assist_task_withdrawn' && n.link === `/assist/${r.json.id}`));
  const resident = await srv.req('GET', '/api/v1/me/notifications', { auth: citizen2 });
  assert.ok(resident.json.items.some((n) => n.template === 'assist_cancelled' && n.body.includes('家人已代为办理')));
});

test('consent first, then the agent opens the application on the resident\'s behalf', async () => {
  await assignTo(onlineId, agentAId);
  assert.equal((await act(agentA, onlineId, 'accept')).status, 200);
  const form = { name: '张阿婆', id_number: '330902195203140021', phone: '13905801234' };
  assertError(await srv.req('POST', `/api/v1/assist/${onlineId}/case`, { auth: agentA, json: { form, submit: false } }),
    409, 'conflict', 'consent');
  // The agent may not consent for the resident.
  assertError(await srv.req('POST', `/api/v1/assist/${onlineId}/consent`, { auth: agentA, json: {} }), 403);
  assertError(await srv.req('POST', `/api/v1/assist/${onlineId}/consent`, { auth: citizen, json: { method: 'phone' } }),
    400, 'invalid_argument', 'method');
  const c = await srv.req('POST', `/api/v1/assist/${onlineId}/consent`, { auth: citizen, json: { note: '同意代办' } });
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.consent.method, 'online');
  assert.equal(c.json.consent.by, citizen.user.id);
  const again = await srv.req('POST', `/api/v1/assist/${onlineId}/consent`, { auth: citizen, json: {} });
  assert.equal(again.json.consent.at, c.json.consent.at, 'consent is recorded once');
  assertError(await srv.req('POST', `/api/v1/assist/${onlineId}/case`, { auth: agentB, json: { form } }), 404);
  const seen = await get(agentA, onlineId);
  assert.ok(seen.json.actions.includes('open_case'));
  const k = await srv.req('POST', `/api/v1/assist/${onlineId}/case`, { auth: agentA, json: { form, submit: false } });
  assert.equal(k.status, 201, k.text);
  const caseId = k.json.case_id;
  assert.equal(k.json.request.case.id, caseId);
  assert.match(k.json.request.case.case_no, /^ZS/);
  const repeat = await srv.req('POST', `/api/v1/assist/${onlineId}/case`, { auth: agentA, json: { form, submit: false } });
  assert.equal(repeat.status, 200, repeat.text);
  assert.equal(repeat.json.case_id, caseId);
  // The application is the resident's, made by the agent through the assisted channel.
  const mine = await srv.req('GET', `/api/v1/cases/${caseId}`, { auth: citizen });
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.json.item_code, ITEM);
  assert.equal(mine.json.channel, 'assisted');
  assert.equal(mine.json.applicant_id, citizen.user.id);
  // Phone intake without an account: staff record consent, but no account, no application.
  const p = await phoneIntake();
  const pc = await srv.req('POST', `/api/v1/assist/${p.id}/consent`, { auth: staff, json: { note: '电话中口头同意' } });
  assert.equal(pc.status, 200, pc.text);
  assert.equal(pc.json.consent.method, 'phone');
  await assignTo(p.id, agentAId);
  assert.equal((await act(agentA, p.id, 'accept')).status, 200);
  assertError(await srv.req('POST', `/api/v1/assist/${p.id}/case`, { auth: agentA, json: { item_code: ITEM, form } }),
    409, 'conflict', 'resident_id');
});

test('the agent\'s live task stream: a dispatched task arrives, a reassigned one is withdrawn', async () => {
  const ac = new AbortController();
  const res = await fetch(`${srv.base}/api/v1/me/agent/events`, {
    headers: { Accept: 'text/event-stream', Authorization: `Bearer ${agentA.token}` }, signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const events = [];
  const pump = (async () => {
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
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
            const c = line.indexOf(':');
            if (c > 0) ev[line.slice(0, c)] = line.slice(c + 1).trim();
          }
          if (ev.event) events.push(ev);
        }
      }
    } catch { /* aborted */ }
  })();
  try {
    await sleep(200);
    const r = await phoneIntake();
    await assignTo(r.id, agentAId);
    const got = await waitFor(() => events.find((e) => e.event === 'task' && JSON.parse(e.data).request_id === r.id), 5000);
    assert.ok(got, `no task event: ${JSON.stringify(events)}`);
    const data = JSON.parse(got.data);
    assert.equal(data.request_no, r.request_no);
    assert.equal(data.place, '六横镇嵩山村');
    assert.ok(!JSON.stringify(data).includes('13905807777'), 'no phone number in the live event');
    await assignTo(r.id, agentBId);
    const gone = await waitFor(() => events.find((e) => e.event === 'task_withdrawn' && JSON.parse(e.data).request_id === r.id), 5000);
    assert.ok(gone, `no withdrawal: ${JSON.stringify(events)}`);
  } finally {
    ac.abort();
    await pump;
  }
  assertError(await srv.req('GET', '/api/v1/me/agent/events', { auth: citizen }), 403);
});

test('SLA: the watcher escalates an unaccepted request and a late one, once each, to the supervisor', async () => {
  const r = await phoneIntake();
  dbQuery(srv.dbPath, `UPDATE assist_requests SET accept_due = '2026-01-05T01:00:00Z' WHERE id = ${r.id}`);
  const esc = await waitFor(async () => {
    const g = await get(staff, r.id);
    return g.json.sla.escalated_at ? g.json : null;
  });
  assert.ok(esc, 'escalated_at was never set');
  assert.equal(esc.sla.accept_overdue, true);
  const ev = esc.events.filter((e) => e.action === 'escalated');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].data.kind, 'accept');
  const inbox = await srv.req('GET', '/api/v1/me/notifications?limit=200', { auth: supervisor });
  const msgs = inbox.json.items.filter((n) => n.template === 'assist_escalated' && n.link === `/assist/${r.id}`);
  assert.equal(msgs.length, 1);
  assert.match(msgs[0].body, /无人接单/);
  await sleep(600); // three more passes: still once
  const again = await get(staff, r.id);
  assert.equal(again.json.events.filter((e) => e.action === 'escalated').length, 1);
  assert.ok(['new', 'dispatched'].includes(again.json.status), 'escalation does not close the request');
  const overdue = await srv.req('GET', `/api/v1/assist?due=overdue&town=${LIUHENG}&limit=200`, { auth: supervisor });
  assert.ok(overdue.json.items.some((x) => x.id === r.id));

  // Accepted but not done by done_due: escalated separately.
  const d = await phoneIntake();
  await assignTo(d.id, agentAId);
  assert.equal((await act(agentA, d.id, 'accept')).status, 200);
  dbQuery(srv.dbPath, `UPDATE assist_requests SET done_due = '2026-01-05T09:30:00Z' WHERE id = ${d.id}`);
  const late = await waitFor(async () => {
    const g = await get(staff, d.id);
    return g.json.sla.done_escalated_at ? g.json : null;
  });
  assert.ok(late, 'done_escalated_at was never set');
  assert.deepEqual(late.events.filter((e) => e.action === 'escalated').map((e) => e.data.kind), ['done']);
  assert.equal(late.status, 'accepted');
});

test('staff re-dispatch without naming an agent: the dispatcher, never the same agent', async () => {
  const r = await phoneIntake();
  await assignTo(r.id, agentAId);
  const x = await act(staff, r.id, 'reassign', { note: '李代办今天忙' });
  if (x.status === 409) { // nobody else free: nothing changed
    assert.equal(errorOf(x).field, 'agent_id');
    assert.equal((await get(staff, r.id)).json.agent.id, agentAId);
    return;
  }
  assert.equal(x.status, 200, x.text);
  assert.equal(x.json.status, 'dispatched');
  assert.notEqual(x.json.agent.id, agentAId);
  assert.deepEqual(x.json.events.map((e) => e.action).slice(-2), ['reassign', 'dispatch']);
  assert.equal(x.json.events.at(-2).note, '李代办今天忙');
  const inbox = await srv.req('GET', '/api/v1/me/notifications', { auth: agentA });
  assert.ok(inbox.json.items.some((n) => n.template === 'assist_task_withdrawn' && n.link === `/assist/${r.id}`));
});

test('nobody on duty: the request waits, escalates, and is never dropped', async () => {
  dbQuery(srv.dbPath, 'UPDATE agents SET on_duty = 0');
  const r = await srv.req('POST', '/api/v1/assist', {
    auth: citizen2, json: { village_code: VILLAGE, description: '没人值班时的请求' },
  });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'new');
  assert.equal(r.json.agent, null);
  assert.ok(r.json.waiting);
  await sleep(700); // several watcher passes try to dispatch it again
  let g = await get(staff, r.json.id);
  assert.equal(g.json.status, 'new');
  dbQuery(srv.dbPath, `UPDATE assist_requests SET accept_due = '2026-01-05T01:00:00Z' WHERE id = ${r.json.id}`);
  g = await waitFor(async () => {
    const x = await get(staff, r.json.id);
    return x.json.sla.escalated_at ? x : null;
  });
  assert.ok(g, 'not escalated');
  assert.equal(g.json.status, 'new');
  const queue = await srv.req('GET', `/api/v1/assist?status=new&due=accept_overdue&town=${LIUHENG}&limit=200`, { auth: staff });
  assert.ok(queue.json.items.some((x) => x.id === r.json.id));
  // Staff can still hand it to someone by hand.
  const h = await act(staff, r.json.id, 'reassign', { agent_id: agentBId, note: '电话联系后临时安排' });
  assert.equal(h.status, 200, h.text);
  assert.match(h.json.dispatch.reason, /人工派单/);
});

test('isle assist list|show for operators', async () => {
  const list = runIsle(['--db', srv.dbPath, 'assist', 'list', '--json', '--limit', '200']);
  assert.equal(list.status, 0, list.stderr);
  const j = JSON.parse(list.stdout);
  assert.ok(j.total >= 8);
  const one = j.items[0];
  const text = runIsle(['--db', srv.dbPath, 'assist', 'show', String(one.id)]);
  assert.equal(text.status, 0, text.stderr);
  assert.ok(text.stdout.includes(one.request_no));
  assert.doesNotMatch(text.stdout, /1390580\d{4}/, 'phones masked in text');
  const tsv = runIsle(['--db', srv.dbPath, 'assist', 'list', '--status', 'open', '--town', LIUHENG]);
  assert.equal(tsv.status, 0, tsv.stderr);
  assert.match(tsv.stderr, /\d+ requests/);
  assert.equal(runIsle(['--db', srv.dbPath, 'assist', 'list', '--status', 'sleeping']).status, 2);
  assert.equal(runIsle(['--db', srv.dbPath, 'assist', 'show', '999999']).status, 1);
  assert.equal(runIsle(['--db', srv.dbPath, 'assist', 'frobnicate']).status, 2);
});
