// System routes, error conventions, security headers and static files.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zlib from 'node:zlib';

import { errorOf, httpRaw, rawExchange, startServer } from './server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

function assertSecurityHeaders(h, what) {
  const get = (n) => (typeof h.get === 'function' ? h.get(n) : h[n]);
  const csp = get('content-security-policy');
  assert.ok(csp, `${what}: Content-Security-Policy missing`);
  assert.match(csp, /frame-ancestors/, `${what}: CSP lacks frame-ancestors: ${csp}`);
  assert.equal(String(get('x-content-type-options')).toLowerCase(), 'nosniff',
    `${what}: X-Content-Type-Options`);
}

test('GET /healthz answers JSON with status, version and db', async () => {
  const r = await srv.req('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.db, 'ok');
  assert.equal(typeof r.json.version, 'string');
  assert.ok(r.json.version.length > 0);
});

test('GET /api/v1/roles lists the ten roles with Chinese names', async () => {
  const r = await srv.req('GET', '/api/v1/roles');
  assert.equal(r.status, 200);
  const roles = r.json.items.map((x) => x.role);
  assert.deepEqual([...roles].sort(), ['admin', 'agent', 'approver', 'bidder', 'citizen', 'company',
    'expert', 'staff', 'supervisor', 'trading_staff']);
  assert.equal(r.json.items.find((x) => x.role === 'citizen').name, '群众');
});

test('/metrics is Prometheus text with request counter, histogram and gauges', async () => {
  // make sure at least one counted request and one 404 exist
  await srv.req('GET', '/healthz');
  await srv.req('GET', '/api/v1/does-not-exist');
  const r = await srv.req('GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  const t = r.text;
  assert.match(t, /^# TYPE isle_http_requests_total counter$/m);
  const hz = t.split('\n').filter((l) => l.startsWith('isle_http_requests_total{') &&
    l.includes('route="/healthz"') && l.includes('method="GET"') && l.includes('status="200"'));
  assert.equal(hz.length, 1, 'one healthz GET 200 series');
  assert.ok(Number(hz[0].split(' ').pop()) >= 2, `healthz counter: ${hz[0]}`);
  assert.match(t, /^isle_http_requests_total\{[^}]*status="404"[^}]*\} \d+/m, '404s are counted');
  assert.match(t, /^# TYPE isle_http_request_duration_seconds histogram$/m);
  assert.match(t, /^isle_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/m);
  assert.match(t, /^isle_http_request_duration_seconds_sum(\{[^}]*\})? [0-9.e+-]+$/m);
  assert.match(t, /^isle_http_request_duration_seconds_count(\{[^}]*\})? \d+$/m);
  const oc = /^isle_http_open_connections(?:\{[^}]*\})? (\d+)$/m.exec(t);
  assert.ok(oc, 'isle_http_open_connections gauge');
  assert.ok(Number(oc[1]) >= 1, 'the /metrics request itself is an open connection');
  for (const name of ['isle_db_time_seconds_total', 'isle_sse_subscribers', 'isle_sse_events_total']) {
    assert.match(t, new RegExp(`^${name}(\\{[^}]*\\})? [0-9.e+-]+$`, 'm'), `${name} present`);
  }
  // every sample line is well formed: name{labels} value
  for (const line of t.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?\d+)?|[+-]Inf|NaN)( -?\d+)?$/,
      `bad line: ${line}`);
  }
});

test('security headers are on every kind of response', async () => {
  const cases = [
    ['GET', '/healthz'], ['GET', '/metrics'], ['GET', '/api/v1/nope'], ['GET', '/api/v1/users'],
    ['PUT', '/api/v1/places/towns'], ['GET', '/'], ['GET', '/admin/users'],
  ];
  for (const [m, p] of cases) {
    const r = await srv.req(m, p);
    assertSecurityHeaders(r.headers, `${m} ${p} (${r.status})`);
  }
  const bad = await srv.req('POST', '/api/v1/session', { body: '{', headers: { 'Content-Type': 'application/json' } });
  assertSecurityHeaders(bad.headers, 'POST /api/v1/session 400');
});

test('unknown /api path → 404 with the JSON error shape', async () => {
  for (const p of ['/api/v1/nope', '/api/v2/users', '/api/v1/users/1/frobnicate']) {
    const r = await srv.req('GET', p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers.get('content-type'), /^application\/json/, p);
    const e = errorOf(r);
    assert.equal(e.code, 'not_found', p);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    assert.equal(e.field, '');
  }
});

test('wrong method on a known path → 405 with Allow and the JSON error shape', async () => {
  const r = await srv.req('PUT', '/api/v1/places/towns');
  assert.equal(r.status, 405);
  assert.equal(errorOf(r).code, 'method_not_allowed');
  assert.equal(errorOf(r).field, '');
  const allow = r.headers.get('allow');
  assert.ok(allow, 'Allow header on 405');
  assert.match(allow, /\bGET\b/);
  const r2 = await srv.req('DELETE', '/healthz');
  assert.equal(r2.status, 405);
  assert.equal(errorOf(r2).code, 'method_not_allowed');
});

test('GET / serves index.html with an ETag; If-None-Match gives 304', async () => {
  const r = await httpRaw(srv.base, 'GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /^text\/html/);
  assert.match(r.body.toString('utf8'), /<html/i);
  const etag = r.headers.etag;
  assert.ok(etag, 'ETag present');
  const r2 = await httpRaw(srv.base, 'GET', '/', { headers: { 'If-None-Match': etag } });
  assert.equal(r2.status, 304);
  assert.equal(r2.body.length, 0);
  assert.equal(r2.headers.etag, etag);
  const r3 = await httpRaw(srv.base, 'GET', '/', { headers: { 'If-None-Match': '"not-the-etag"' } });
  assert.equal(r3.status, 200);
});

async function staticAssets() {
  const r = await httpRaw(srv.base, 'GET', '/');
  const html = r.body.toString('utf8');
  const refs = new Set();
  for (const m of html.matchAll(/(?:src|href)\s*=\s*["']([^"'#?]+\.(?:js|css))["']/gi)) {
    refs.add(new URL(m[1], `${srv.base}/`).pathname);
  }
  const out = [];
  for (const p of refs) {
    const a = await httpRaw(srv.base, 'GET', p);
    if (a.status === 200) out.push({ path: p, body: a.body, headers: a.headers });
  }
  return out;
}

test('css/js are served gzip-compressed when the client accepts it', async () => {
  const assets = await staticAssets();
  assert.ok(assets.length > 0, 'index.html references css/js files that are served');
  const big = assets.filter((a) => a.body.length >= 2048);
  assert.ok(big.length > 0, `a css/js asset of at least 2 KiB (sizes: ${assets.map((a) => `${a.path}=${a.body.length}`)})`);
  for (const a of big) {
    assert.match(a.headers['content-type'], a.path.endsWith('.css') ? /^text\/css/ : /javascript/, a.path);
    assert.equal(a.headers['content-encoding'], undefined, `${a.path} plain without Accept-Encoding`);
    const g = await httpRaw(srv.base, 'GET', a.path, { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-encoding'], 'gzip', a.path);
    assert.match(g.headers.vary || '', /accept-encoding/i, `${a.path} Vary: Accept-Encoding`);
    assert.ok(g.body.length < a.body.length, `${a.path} compressed is smaller`);
    assert.deepEqual(zlib.gunzipSync(g.body), a.body, `${a.path} gunzips to the original`);
    if (g.headers.etag && a.headers.etag) {
      assert.notEqual(g.headers.etag, a.headers.etag, 'gzip and identity variants need distinct ETags');
    }
  }
});

test('made-up SPA paths return index.html', async () => {
  const index = await httpRaw(srv.base, 'GET', '/');
  for (const p of ['/admin/users', '/login', '/services/apply/42']) {
    const r = await httpRaw(srv.base, 'GET', p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers['content-type'], /^text\/html/, p);
    assert.deepEqual(r.body, index.body, `${p} is index.html`);
  }
  // a missing file with an extension is a 404, not index.html
  const r = await httpRaw(srv.base, 'GET', '/js/no-such-file.js');
  assert.equal(r.status, 404);
});

test('path traversal never leaks files outside web/', async () => {
  const targets = [
    '/../etc/passwd', '/../../../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/css/..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/js/../../Makefile', '/..%2fMakefile', '/%2E%2E/Makefile', '/..%5c..%5cMakefile',
    '/....//....//etc/passwd', '/js/%2e%2e/%2e%2e/src/main.c', '/.%2e/.%2e/docs/API.md',
    '//etc/passwd', '/%00/etc/passwd', '/index.html%00.js',
  ];
  for (const t of targets) {
    const r = await rawExchange(srv.port, `GET ${t} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(r.status >= 200 && r.status < 500, `${t}: status ${r.status}`);
    const body = r.body.toString('latin1');
    assert.doesNotMatch(body, /root:.*:0:0:/, `${t} leaked /etc/passwd`);
    assert.doesNotMatch(body, /PKGS\s*:=|# isle — build, run, test/, `${t} leaked the Makefile`);
    assert.doesNotMatch(body, /#include|isle HTTP API \(v1\)/, `${t} leaked a source/doc file`);
  }
});

test('HEAD works for API and static routes, without a body', async () => {
  const g = await httpRaw(srv.base, 'GET', '/');
  const h = await httpRaw(srv.base, 'HEAD', '/');
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
  assert.equal(h.headers['content-length'], String(g.body.length));
  assert.equal(h.headers.etag, g.headers.etag);
  const hz = await httpRaw(srv.base, 'HEAD', '/healthz');
  assert.equal(hz.status, 200);
  assert.equal(hz.body.length, 0);
  assert.match(hz.headers['content-type'], /^application\/json/);
  // raw socket: after a HEAD on a keep-alive connection the next response must parse cleanly
  const r = await rawExchange(srv.port,
    'HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    { timeout: 3000, untilClose: true });
  const text = r.raw.toString('latin1');
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200'], text);
  assert.equal((text.match(/"status"/g) || []).length, 1, 'only the GET carries a body');
});

test('request id and keep-alive basics', async () => {
  const r = await rawExchange(srv.port,
    'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/roles HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    { timeout: 3000, untilClose: true });
  const text = r.raw.toString('latin1');
  assert.equal([...text.matchAll(/HTTP\/1\.1 200/g)].length, 2, 'two pipelined requests answered');
});

test('malformed HTTP gets 400, not a crash', async () => {
  const r = await rawExchange(srv.port, 'GARBAGE\r\n\r\n', { timeout: 3000 });
  assert.ok(r.status === 400 || r.raw.length === 0, `status ${r.status}`);
  const big = await rawExchange(srv.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`, { timeout: 3000 });
  assert.ok([400, 431].includes(big.status), `oversized header block: ${big.status}`);
  const url = await rawExchange(srv.port, `GET /api/v1/roles?q=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { timeout: 3000 });
  assert.ok([400, 414].includes(url.status), `oversized URL: ${url.status}`);
  const h = await srv.req('GET', '/healthz');
  assert.equal(h.status, 200, 'server still alive');
});
