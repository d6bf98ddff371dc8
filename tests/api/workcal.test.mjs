// The working-day calendar: GET /api/v1/workcal/add and /between (public), and
// the `isle workcal` command line, against the official 2025–2026 calendars.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, errorOf, makeTempDir, runIsle, startServer } from './server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

function assertError(r, status, field) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text.slice(0, 300)}`);
  const e = errorOf(r);
  assert.equal(e.code, 'invalid_argument');
  assert.equal(e.field, field);
  assert.ok(e.message.length > 0);
}

test('add: 5 working days after 2026-09-30 is 2026-10-13 (国庆 and a 调休 Saturday)', async () => {
  const r = await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30&days=5');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    date: '2026-09-30', days: 5, result: '2026-10-13',
    deadline: '2026-10-13T17:30:00+08:00', estimated: false,
  });
  const cases = [
    ['2025-09-30', '1', '2025-10-09'], // 10-01..10-08 off
    ['2025-09-30', '3', '2025-10-11'], // 10-11 Saturday worked
    ['2025-01-24', '1', '2025-01-26'], // 春节 2025: 01-26 Sunday worked
    ['2026-02-14', '1', '2026-02-24'], // 春节 2026: 02-15..02-23 off
    ['2026-05-08', '1', '2026-05-09'], // 劳动节 2026: 05-09 Saturday worked
    ['2025-12-31', '1', '2026-01-04'], // 元旦 2026: 01-04 Sunday worked
  ];
  for (const [date, days, want] of cases) {
    const c = await srv.req('GET', `/api/v1/workcal/add?date=${date}&days=${days}`);
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json.result, want, `${date} + ${days}`);
  }
});

test('add: half days end at noon; years without a file are estimated', async () => {
  const h = await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30&days=1.5');
  assert.equal(h.status, 200, h.text);
  assert.equal(h.json.days, 1.5);
  assert.equal(h.json.result, '2026-10-09');
  assert.equal(h.json.deadline, '2026-10-09T12:00:00+08:00');
  const z = await srv.req('GET', '/api/v1/workcal/add?date=2026-10-03&days=0');
  assert.equal(z.json.result, '2026-10-08');
  const est = await srv.req('GET', '/api/v1/workcal/add?date=2026-12-30&days=5');
  assert.equal(est.status, 200, est.text);
  assert.equal(est.json.estimated, true);
  assert.equal(est.json.result, '2027-01-06');
});

test('between: working days after from up to and including to', async () => {
  const r = await srv.req('GET', '/api/v1/workcal/between?from=2026-09-30&to=2026-10-13');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { from: '2026-09-30', to: '2026-10-13', working_days: 5, estimated: false });
  const back = await srv.req('GET', '/api/v1/workcal/between?from=2026-10-13&to=2026-09-30');
  assert.equal(back.json.working_days, -5);
  const y2025 = await srv.req('GET', '/api/v1/workcal/between?from=2024-12-31&to=2025-12-31');
  assert.equal(y2025.json.working_days, 248);
  const hol = await srv.req('GET', '/api/v1/workcal/between?from=2026-10-01&to=2026-10-07');
  assert.equal(hol.json.working_days, 0);
});

test('bad input → 400 naming the parameter', async () => {
  assertError(await srv.req('GET', '/api/v1/workcal/add?days=5'), 400, 'date');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026-02-30&days=5'), 400, 'date');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026/09/30&days=5'), 400, 'date');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30'), 400, 'days');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30&days=0.3'), 400, 'days');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30&days=-1'), 400, 'days');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30&days=1e9'), 400, 'days');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2026-09-30&days=abc'), 400, 'days');
  assertError(await srv.req('GET', '/api/v1/workcal/add?date=2999-12-30&days=5'), 400, 'days');
  assertError(await srv.req('GET', '/api/v1/workcal/between?to=2026-10-13'), 400, 'from');
  assertError(await srv.req('GET', '/api/v1/workcal/between?from=2026-09-30'), 400, 'to');
  assertError(await srv.req('GET', '/api/v1/workcal/between?from=2026-09-30&to=x'), 400, 'to');
  const ok = await srv.req('GET', '/healthz');
  assert.equal(ok.status, 200, 'the server is still up');
});

// ---- the command line ----

test('isle workcal add / between / is-workday / deadline', () => {
  const add = runIsle(['workcal', 'add', '2026-09-30', '5']);
  assert.equal(add.status, 0, add.stderr);
  assert.equal(add.stdout, '2026-10-13\n');
  const between = runIsle(['workcal', 'between', '2026-09-30', '2026-10-13']);
  assert.equal(between.status, 0, between.stderr);
  assert.equal(between.stdout, '5\n');
  const makeup = runIsle(['workcal', 'is-workday', '2026-02-14', '--json']);
  assert.equal(makeup.status, 0, makeup.stderr);
  assert.deepEqual(JSON.parse(makeup.stdout), {
    date: '2026-02-14', workday: true, kind: 'makeup', name: '春节', estimated: false,
  });
  const off = runIsle(['workcal', 'is-workday', '2025-10-08']);
  assert.match(off.stdout, /^no\tholiday\t国庆节、中秋节\n$/);
  // Received after hours: deemed received on the next working day (10-08), day 1 is 10-09.
  const late = runIsle(['workcal', 'deadline', '2026-09-30 19:00', '5']);
  assert.equal(late.status, 0, late.stderr);
  assert.equal(late.stdout, '2026-10-14 17:30\n');
  const hours = runIsle(['workcal', 'deadline', '2026-09-30 16:00', '4', '--hours', '--json']);
  assert.equal(hours.status, 0, hours.stderr);
  const j = JSON.parse(hours.stdout);
  assert.equal(j.deadline, '2026-10-08 11:00');
  assert.equal(j.deadline_utc, '2026-10-08T03:00:00Z');
  assert.equal(j.hours, 4);
  const help = runIsle(['help']);
  assert.match(help.stdout, /\bworkcal\b/);
});

test('isle workcal: bad input exits 2 with a message, never a crash', () => {
  const bad = [
    ['workcal'],
    ['workcal', 'frobnicate'],
    ['workcal', 'add', '2026-02-30', '5'],
    ['workcal', 'add', '2026-09-30', '0.3'],
    ['workcal', 'add', '2026-09-30', '-1'],
    ['workcal', 'add', '2026-09-30'],
    ['workcal', 'add', '2026-09-30', '5', 'extra'],
    ['workcal', 'between', '2026-09-30', 'tomorrow'],
    ['workcal', 'is-workday', ''],
    ['workcal', 'deadline', '2026-09-30 25:00', '1'],
    ['workcal', 'add', '2026-09-30', '5', '--hours'],
    ['workcal', 'add', '2026-09-30', '5', '--no-such-option'],
    ['workcal', 'add', '2026-09-30', '5', '--work-hours', '25:00-26:00'],
    ['workcal', 'add', '2026-09-30', '5', '--dir'],
  ];
  for (const args of bad) {
    const r = runIsle(args);
    assert.equal(r.status, 2, `${args.join(' ')} → ${r.status} (signal ${r.signal}): ${r.stderr}`);
    assert.ok(r.stderr.trim().length > 0, `${args.join(' ')} explains itself`);
    assert.equal(r.stdout, '', `${args.join(' ')} prints no result`);
  }
});

test('isle workcal reads a new year\'s file from the data directory (no rebuild)', () => {
  const dir = makeTempDir('isle-workcal-');
  try {
    const holidays = path.join(dir, 'holidays');
    fs.mkdirSync(holidays);
    fs.copyFileSync(path.join(ROOT, 'data/holidays/2026.json'), path.join(holidays, '2026.json'));
    const before2027 = runIsle(['--data-dir', dir, 'workcal', 'is-workday', '2027-01-01']);
    assert.equal(before2027.status, 0, before2027.stderr);
    assert.equal(before2027.stdout, 'yes\tworkday\n');
    assert.match(before2027.stderr, /no holiday file for 2027/);
    fs.writeFileSync(path.join(holidays, '2027.json'), JSON.stringify({
      year: 2027,
      days: [{ name: '元旦', date: '2027-01-01', isOffDay: true }],
    }));
    const after2027 = runIsle(['--data-dir', dir, 'workcal', 'is-workday', '2027-01-01']);
    assert.equal(after2027.status, 0, after2027.stderr);
    assert.equal(after2027.stdout, 'no\tholiday\t元旦\n');
    assert.equal(after2027.stderr, '');
    // A broken file is refused with its name and field, exit 1.
    fs.writeFileSync(path.join(holidays, '2027.json'), JSON.stringify({
      year: 2027, days: [{ name: '元旦', date: '2027-13-01', isOffDay: true }],
    }));
    const broken = runIsle(['--data-dir', dir, 'workcal', 'add', '2026-09-30', '5']);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /2027\.json: days\[0\]\.date/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
