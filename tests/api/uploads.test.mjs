// Multipart uploads: happy path, size cap, authentication and malformed bodies.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';

import { errorOf, rawExchange, startServer } from './server.mjs';

let srv;
let cit;
before(async () => {
  srv = await startServer();
  cit = await srv.loginToken('citizen');
});
after(async () => { await srv?.stop(); });

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

function assertError(r, status, code) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${(r.text || '').slice(0, 300)}`);
  assert.equal(errorOf(r).code, code);
}

test('multipart upload of a text and a binary file → 201 with sizes and sha256', async () => {
  const text = Buffer.from('你好, isle!\r\n--not-a-boundary\r\n');
  const bin = crypto.randomBytes(300 * 1024);
  bin.write('\r\n--', 1000, 'latin1'); // boundary-like bytes inside the data
  bin[5] = 0;
  const fd = new FormData();
  fd.append('note', new Blob([text], { type: 'text/plain' }), 'note.txt');
  fd.append('scan', new Blob([bin], { type: 'application/octet-stream' }), 'scan.bin');
  const r = await srv.req('POST', '/api/v1/uploads', { token: cit.token, body: fd });
  assert.equal(r.status, 201, r.text);
  const files = r.json.files;
  assert.equal(files.length, 2);
  const note = files.find((f) => f.field === 'note');
  const scan = files.find((f) => f.field === 'scan');
  assert.ok(note && scan, JSON.stringify(files));
  assert.equal(note.filename, 'note.txt');
  assert.match(note.content_type, /^text\/plain/);
  assert.equal(note.size, text.length);
  assert.equal(note.sha256, sha256(text));
  assert.equal(scan.filename, 'scan.bin');
  assert.equal(scan.content_type, 'application/octet-stream');
  assert.equal(scan.size, bin.length);
  assert.equal(scan.sha256, sha256(bin));
  assert.ok(note.id !== undefined && scan.id !== undefined && note.id !== scan.id);
});

test('upload with a cookie session needs the CSRF token', async () => {
  const s = await srv.login('company');
  const mk = () => { const fd = new FormData(); fd.append('f', new Blob(['abc']), 'a.txt'); return fd; };
  assertError(await srv.req('POST', '/api/v1/uploads', { cookie: s.cookie, body: mk() }), 403, 'permission_denied');
  const ok = await srv.req('POST', '/api/v1/uploads', { auth: s, body: mk() });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.files[0].sha256, sha256(Buffer.from('abc')));
});

test('filenames with paths are not trusted', async () => {
  const fd = new FormData();
  fd.append('f', new Blob(['x']), '../../etc/evil.txt');
  const r = await srv.req('POST', '/api/v1/uploads', { token: cit.token, body: fd });
  assert.ok(r.status === 201 || r.status === 400, `${r.status} ${r.text}`);
  if (r.status === 201) assert.ok(!r.json.files[0].filename.includes('/'), r.json.files[0].filename);
});

test('upload over the 20 MiB cap (Content-Length announced) → 413', async () => {
  const size = 21 * 1024 * 1024;
  const r = await rawExchange(srv.port,
    'POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\n' +
    `Authorization: Bearer ${cit.token}\r\n` +
    'Content-Type: multipart/form-data; boundary=XyZ\r\n' +
    `Content-Length: ${size}\r\n\r\n`, { bodySize: size, timeout: 20000 });
  assert.equal(r.status, 413, `${r.statusLine} (sent ${r.bodySent} bytes)`);
  assert.equal(r.json?.error?.code, 'payload_too_large');
  assert.ok(r.bodySent < size, 'refused before the whole body was sent');
});

test('more than 16 parts → 4xx', async () => {
  const fd = new FormData();
  for (let i = 0; i < 17; i++) fd.append(`f${i}`, new Blob([`x${i}`]), `f${i}.txt`);
  const r = await srv.req('POST', '/api/v1/uploads', { token: cit.token, body: fd });
  assert.ok(r.status === 400 || r.status === 413, `${r.status} ${r.text}`);
  errorOf(r);
});

test('not logged in → 401', async () => {
  const fd = new FormData();
  fd.append('f', new Blob(['abc']), 'a.txt');
  assertError(await srv.req('POST', '/api/v1/uploads', { body: fd }), 401, 'unauthenticated');
});

test('malformed multipart → 400', async () => {
  const post = (ct, body) => srv.req('POST', '/api/v1/uploads', {
    token: cit.token, headers: { 'Content-Type': ct }, body,
  });
  // no multipart structure at all
  assertError(await post('multipart/form-data; boundary=XyZ', 'this is not multipart'), 400, 'invalid_argument');
  // missing boundary parameter: the Content-Type itself is unusable (400 or 415)
  const nb = await post('multipart/form-data', '--XyZ\r\n\r\nx\r\n--XyZ--\r\n');
  assert.ok(nb.status === 400 || nb.status === 415, `no boundary: ${nb.status}`);
  errorOf(nb);
  // unterminated: no closing boundary
  assertError(await post('multipart/form-data; boundary=XyZ',
    '--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nabc'), 400, 'invalid_argument');
  // a part without Content-Disposition
  assertError(await post('multipart/form-data; boundary=XyZ',
    '--XyZ\r\nContent-Type: text/plain\r\n\r\nabc\r\n--XyZ--\r\n'), 400, 'invalid_argument');
  // not multipart at all
  const j = await post('application/json', '{}');
  assert.ok(j.status === 400 || j.status === 415, `json to uploads: ${j.status}`);
  errorOf(j);
  // server still fine
  const fd = new FormData();
  fd.append('f', new Blob(['ok']), 'ok.txt');
  assert.equal((await srv.req('POST', '/api/v1/uploads', { token: cit.token, body: fd })).status, 201);
});
