#!/usr/bin/env bash
# bench/bids.sh: the deadline burst of sealed bids (issue 6 part 3).
#
#   1,000 sealed bids of 5 MB each (BENCH_BID_CLIENTS companies × BENCH_BID_TENDERS
#   tenders; defaults 200 × 5), uploaded by 200 concurrent clients in the last minute
#   before the deadline: every one accepted with a receipt, none lost; throughput
#   reported against the disk's raw write speed.
#
#  1. Raw disk: dd if=/dev/zero bs=1M count=2000 oflag=direct conv=fsync in the bench
#     directory (same file system as the server's files).
#  2. A fresh database (isle init; no demo): a trading-staff user, the bidder users and
#     their companies (sqlite3), the tenders with a deadline 90 s after the burst
#     starts and every company's deposit; 3 supervisors and the backup key
#     (isle trade backup-key init, 2 of 3); the test PKI (tests/tools/trade-pki.sh) and
#     one ECDSA P-256 certificate per company issued by its EC root.
#  3. One real envelope per company: BENCH_BID_MB MiB of random plaintext sealed with
#     `openssl cms -encrypt -binary -aes-256-cbc -recip company.crt -recip backup.crt`
#     (as docs/BIDDING.md says), reused for each tender (the commitment and its
#     signature differ per tender: the commitment string names the tender). The server
#     stores envelopes by SHA-256, so a company's 5 envelopes are one file on disk;
#     every upload is still received, spooled, parsed, hashed and checked in full.
#  4. `isle serve --threads BENCH_THREADS` (4); a node client registers the roots and
#     certificates, then 200 concurrent clients (one per company, loopback source
#     addresses spread over 127.0.0.2..) each upload their bids one after the other
#     (multipart, the envelope streamed from memory). Each answer must be 201 with a
#     receipt whose Ed25519 signature verifies with the key at /api/v1/proofs/keys; the
#     database must then hold exactly one sealed bid per receipt, with the receipt's
#     envelope hash, every envelope file present, and every receipt time before the
#     deadline.
# One PASS/FAIL line per target. Only 127.0.0.1 (and 127.0.0.x as client source
# addresses) is contacted; the server started here is stopped on exit.
#
# Environment: BENCH_BID_CLIENTS (200), BENCH_BID_TENDERS (5), BENCH_BID_MB (5),
# BENCH_THREADS (4), BENCH_BID_WINDOW (90: seconds from the burst's start to the deadline),
# BENCH_KEEP=1 (keep the temp dir), BENCH_ISLE_LOG_LEVEL (warn), ISLE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROOT=$PWD

NCOMP=${BENCH_BID_CLIENTS:-200}
NTEND=${BENCH_BID_TENDERS:-5}
MB=${BENCH_BID_MB:-5}
THREADS=${BENCH_THREADS:-4}
PASSWORD='Bench@2026-bids'

for tool in curl sqlite3 node openssl ss dd; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool missing" >&2; exit 2; }
done
case "$ISLE_BIN" in /*) ;; *) ISLE_BIN=$ROOT/$ISLE_BIN ;; esac
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }

DIR=$(mktemp -d /tmp/isle-bench-bids-XXXXXX)
ISLE_PID=
cleanup() {
    stop_pid "$ISLE_PID"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
raise_nofile 4096 >/dev/null
T0=$(date +%s)

# ---- 1. raw disk ----
DD=$(dd if=/dev/zero of="$DIR/dd.bin" bs=1M count=2000 oflag=direct conv=fsync 2>&1 | tail -1)
rm -f "$DIR/dd.bin"
DD_MBS=$(echo "$DD" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/ && $(i+1) == "s,") s = $i; b = $1 } END { printf "%.0f", b / s / 1e6 }')
echo "raw disk write (dd 2000 MiB, O_DIRECT, fsync): $DD_MBS MB/s"

# ---- 2. database, users, companies, tenders, deposits, backup key ----
DB=$DIR/isle.db
export ISLE_ARGON2_FAST=1
"$ISLE_BIN" --db "$DB" init >/dev/null 2>&1
for u in bstaff:trading_staff bid1:bidder cust1:supervisor cust2:supervisor cust3:supervisor; do
    echo "$PASSWORD" | "$ISLE_BIN" --db "$DB" user add --role "${u#*:}" --login "${u%%:*}" >/dev/null
done
"$ISLE_BIN" --db "$DB" trade backup-key init --custodians cust1,cust2,cust3 --threshold 2 \
    --out "$DIR/backup" >/dev/null
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
{
    echo "BEGIN;"
    for i in $(seq 2 "$NCOMP"); do
        echo "INSERT INTO users (login, display_name, role, password_hash, created_at, updated_at, password_changed_at) SELECT 'bid$i', 'bid$i', 'bidder', password_hash, '$NOW', '$NOW', '$NOW' FROM users WHERE login = 'bid1';"
    done
    echo "COMMIT;"
} | sqlite3 "$DB"
node - "$DB" "$NCOMP" "$NTEND" "$NOW" >"$DIR/setup.sql" <<'EOF'
// Companies (valid USCCs), their users, tenders and deposits as SQL.
const [, , , ncomp, ntend, now] = process.argv;
const A = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const uscc = (b) => { let s = 0; for (let i = 0; i < 17; i++) s += A.indexOf(b[i]) * W[i]; return b + A[(31 - (s % 31)) % 31]; };
const out = ['BEGIN;'];
for (let i = 1; i <= +ncomp; i++) {
  out.push(`INSERT INTO trade_companies (id, uscc, name, created_at, updated_at) VALUES (${i}, '${uscc(`9133090${String(i).padStart(6, '0')}MA2X`)}', '舟山压测建设${i}有限公司', '${now}', '${now}');`);
  out.push(`INSERT INTO trade_company_users (user_id, company_id, created_at) SELECT id, ${i}, '${now}' FROM users WHERE login = 'bid${i}';`);
}
for (let t = 1; t <= +ntend; t++) {
  out.push(`INSERT INTO tenders (id, tender_no, kind, title, buyer, method, status, deadline_at, deposit_fen, allow_backup, announce_at, created_at, updated_at) VALUES (${t}, 'ZS-GC-2026-B${String(t).padStart(3, '0')}', 'works', '压测工程${t}', '舟山市压测招标人', 'lowest_price', 'announced', '2099-01-01T00:00:00Z', 1000000, 1, '${now}', '${now}', '${now}');`);
  for (let i = 1; i <= +ncomp; i++) out.push(`INSERT INTO trade_deposits (tender_id, company_id, amount_fen, account_no, account_name, bank, paid_at) VALUES (${t}, ${i}, 1000000, '62220000${String(i).padStart(6, '0')}', '舟山压测建设${i}有限公司', '舟山银行', '${now}');`);
}
out.push('COMMIT;');
console.log(out.join('\n'));
EOF
sqlite3 "$DB" <"$DIR/setup.sql"

# ---- PKI: one ECDSA certificate per company; one envelope per company ----
sh tests/tools/trade-pki.sh "$DIR/pki" >/dev/null 2>&1
mkdir -p "$DIR/co"
cat >"$DIR/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
utf8 = yes
[dn]
[user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyAgreement
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
make_company() {
    local i=$1 d=$DIR/co/$1
    # One process for the key and the certificate (req -x509 -CA, OpenSSL 3.0), one for
    # the envelope: the machine is shared, process starts are what costs.
    openssl req -x509 -new -utf8 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/key.pem" \
        -subj "/C=CN/O=舟山压测建设${i}有限公司/CN=bid$i" -CA "$DIR/pki/ca-ec/root.crt" \
        -CAkey "$DIR/pki/ca-ec/root.key" -sha256 -set_serial "0x$(printf '%024x' "$i")" -days 30 \
        -config "$DIR/ext.cnf" -extensions user -out "$d/cert.pem" 2>/dev/null
    openssl cms -encrypt -binary -aes-256-cbc -recip "$d/cert.pem" -recip "$DIR/backup/backup.crt" \
        -in "$d/plain.bin" -outform DER -out "$d/envelope"
    rm -f "$d/plain.bin"
}
export -f make_company
export DIR MB
T1=$(date +%s)
# The plaintexts (random, as incompressible as a real bid's ciphertext) and their hashes.
node -e '
const fs = require("fs"), crypto = require("crypto");
const [dir, n, mb] = process.argv.slice(1);
for (let i = 1; i <= +n; i++) {
  const d = `${dir}/co/${i}`;
  fs.mkdirSync(d, { recursive: true });
  const p = crypto.randomBytes(+mb * 1024 * 1024 - 2048);
  fs.writeFileSync(`${d}/plain.bin`, p);
  fs.writeFileSync(`${d}/plain.sha256`, crypto.createHash("sha256").update(p).digest("hex") + "\n");
}' "$DIR" "$NCOMP" "$MB"
seq 1 "$NCOMP" | xargs -P 4 -I{} bash -c 'make_company {}'
echo "prepared $NCOMP companies, certificates and ${MB} MiB envelopes in $(($(date +%s) - T1)) s"

# ---- 3. the server and the burst ----
PORT=$(free_port)
ISLE_LOG_LEVEL=${BENCH_ISLE_LOG_LEVEL:-warn} "$ISLE_BIN" --db "$DB" serve --listen "127.0.0.1:$PORT" --threads "$THREADS" \
    >"$DIR/isle.log" 2>&1 &
ISLE_PID=$!
wait_http "http://127.0.0.1:$PORT/healthz" 150

cat >"$DIR/client.mjs" <<'EOF'
// The burst client: registration, then NCOMP concurrent clients × NTEND uploads.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { spawnSync } from 'node:child_process';

const [, , base, dir, db, ncompS, ntendS, password] = process.argv;
const NCOMP = +ncompS, NTEND = +ntendS;
const u = new URL(base);
const src = (i) => `127.0.0.${2 + (i % 250)}`; // the login limit counts per address

function req(method, path, { json, token, headers = {}, body, localAddress, parts } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    let payload = body;
    if (json !== undefined) { payload = Buffer.from(JSON.stringify(json)); h['Content-Type'] = 'application/json'; }
    if (parts) h['Content-Length'] = parts.reduce((n, p) => n + p.length, 0);
    else if (payload) h['Content-Length'] = payload.length;
    const r = http.request({ host: u.hostname, port: u.port, method, path, headers: h, localAddress, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let j; try { j = JSON.parse(text); } catch { j = undefined; }
        resolve({ status: res.statusCode, json: j, text });
      });
    });
    r.on('error', reject);
    if (parts) { for (const p of parts) r.write(p); r.end(); } else r.end(payload);
  });
}
const sql = (q) => spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, q], { encoding: 'utf8' }).stdout.trim();

// Registration: the EC root, then every company's user logs in and registers its cert.
const staff = await req('POST', '/api/v1/session', { json: { login: 'bstaff', password, token: true } });
const root = await req('POST', '/api/v1/ca/roots', { token: staff.json.token, json: { pem: fs.readFileSync(`${dir}/pki/ca-ec/root.crt`, 'utf8'), name: '浙江测试CA' } });
if (root.status !== 201) throw new Error(`root: ${root.status} ${root.text}`);
const co = [];
await Promise.all(Array.from({ length: NCOMP }, async (_, k) => {
  const i = k + 1;
  const s = await req('POST', '/api/v1/session', { json: { login: `bid${i}`, password, token: true }, localAddress: src(i) });
  if (s.status !== 200) throw new Error(`login bid${i}: ${s.status} ${s.text}`);
  const c = await req('POST', '/api/v1/trade/certs', { token: s.json.token, json: { certificate: fs.readFileSync(`${dir}/co/${i}/cert.pem`, 'utf8') } });
  if (c.status !== 201) throw new Error(`cert bid${i}: ${c.status} ${c.text}`);
  co[i] = {
    token: s.json.token, uscc: sql(`SELECT uscc FROM trade_companies WHERE id = ${i}`),
    key: crypto.createPrivateKey(fs.readFileSync(`${dir}/co/${i}/key.pem`)),
    env: fs.readFileSync(`${dir}/co/${i}/envelope`),
    h: fs.readFileSync(`${dir}/co/${i}/plain.sha256`, 'utf8').trim(),
  };
}));
const tenders = sql('SELECT id, tender_no FROM tenders ORDER BY id').split('\n').map((l) => l.split('|'));
// Signed commitments per (company, tender), as `openssl dgst -sha256 -sign` makes them.
for (let i = 1; i <= NCOMP; i++) {
  co[i].sig = tenders.map(([, no]) => crypto.sign('sha256', Buffer.from(`isle-bid-commitment:v1:${no}:${co[i].uscc}:${co[i].h}`), co[i].key).toString('base64'));
}
// The deadline: WINDOW seconds from now (90 by default): the whole burst is its last minute
// and a half. Every bid must be in before it (the server refuses the rest).
const deadline = new Date(Date.now() + (+process.env.BENCH_BID_WINDOW || 90) * 1e3);
const deadlineIso = deadline.toISOString().replace(/\.\d+Z$/, 'Z');
sql(`UPDATE tenders SET deadline_at = '${deadlineIso}'`);

const boundary = '----isle-bench-bids';
function multipart(i, t) {
  const f = (name, v) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${v}\r\n`;
  const head = Buffer.from(f('envelope_kind', 'cms') + f('commitment_sha256', co[i].h) + f('commitment_sig', co[i].sig[t]) +
    `--${boundary}\r\nContent-Disposition: form-data; name="envelope"; filename="envelope.der"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  return [head, co[i].env, Buffer.from(`\r\n--${boundary}--\r\n`)];
}

const results = [];
const lat = [];
let bytes = 0;
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: NCOMP }, async (_, k) => {
  const i = k + 1;
  for (let t = 0; t < tenders.length; t++) {
    const parts = multipart(i, t);
    const s = process.hrtime.bigint();
    let r;
    try {
      r = await req('POST', `/api/v1/trade/tenders/${tenders[t][0]}/bids`, {
        token: co[i].token, parts, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, localAddress: src(i),
      });
    } catch (e) { r = { status: 0, text: String(e) }; }
    lat.push(Number(process.hrtime.bigint() - s) / 1e6);
    bytes += parts.reduce((n, p) => n + p.length, 0);
    results.push({ i, t, status: r.status, json: r.json, text: r.status === 201 ? '' : r.text.slice(0, 200) });
  }
}));
const wall = Number(process.hrtime.bigint() - t0) / 1e9;

// Check: receipts signed, one sealed row per receipt with the same envelope, files present.
const keys = (await req('GET', '/api/v1/proofs/keys')).json.items;
const pub = Object.fromEntries(keys.map((k) => [k.key_id, crypto.createPublicKey(k.pem)]));
let verified = 0;
const accepted = results.filter((r) => r.status === 201);
for (const r of accepted) {
  const sig = Buffer.from(r.json.receipt_sig, 'base64url');
  if (crypto.verify(null, Buffer.from(r.json.receipt_text), pub[r.json.key_id], sig)) verified++;
}
const rows = new Map(sql("SELECT id, envelope_sha256 FROM bids WHERE status = 'sealed'").split('\n').filter(Boolean).map((l) => l.split('|')));
let matched = 0;
let late = 0;
for (const r of accepted) {
  if (rows.get(String(r.json.bid_id)) === r.json.receipt.envelope_sha256 &&
      fs.existsSync(`${db}-files/bids/${r.json.receipt.envelope_sha256}`)) matched++;
  if (new Date(r.json.receipt.received_at) >= deadline) late++;
}
lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
const errors = results.filter((r) => r.status !== 201).slice(0, 5);
console.log(JSON.stringify({
  bids: results.length, accepted: accepted.length, receipts_verified: verified, rows_matched: matched,
  sealed_rows: rows.size, after_deadline: late, wall_s: +wall.toFixed(2), mb: +(bytes / 1e6).toFixed(0),
  mb_s: +(bytes / 1e6 / wall).toFixed(1), bids_s: +(results.length / wall).toFixed(1),
  p50_ms: +q(0.5).toFixed(0), p99_ms: +q(0.99).toFixed(0), max_ms: +lat[lat.length - 1].toFixed(0),
  seconds_before_deadline: +((deadline - Date.now()) / 1000).toFixed(1), errors,
}));
EOF
OUT=$(node "$DIR/client.mjs" "http://127.0.0.1:$PORT" "$DIR" "$DB" "$NCOMP" "$NTEND" "$PASSWORD")
echo "$OUT" >"$DIR/result.json"
j() { node -e "const r = JSON.parse(process.argv[1]); console.log(r['$1'])" "$OUT"; }
TOTAL=$((NCOMP * NTEND))
echo "burst: $(j bids) bids of ${MB} MiB by $NCOMP concurrent clients in $(j wall_s) s" \
    "($(j bids_s) bids/s, $(j mb) MB, $(j mb_s) MB/s; latency p50 $(j p50_ms) ms, p99 $(j p99_ms) ms," \
    "max $(j max_ms) ms; done $(j seconds_before_deadline) s before the deadline)"
echo "accepted $(j accepted), receipts verified $(j receipts_verified), rows matching receipts" \
    "$(j rows_matched), sealed rows $(j sealed_rows), after the deadline $(j after_deadline)"
echo "upload throughput $(j mb_s) MB/s = $(node -e "console.log((+process.argv[1] / +process.argv[2] * 100).toFixed(0))" "$(j mb_s)" "$DD_MBS")% of raw disk write ($DD_MBS MB/s)"
[ "$(j accepted)" = "$TOTAL" ] || echo "first errors: $(node -e "console.log(JSON.stringify(JSON.parse(process.argv[1]).errors))" "$OUT")"
ok=1
if [ "$(j accepted)" = "$TOTAL" ] && [ "$(j receipts_verified)" = "$TOTAL" ] && [ "$(j rows_matched)" = "$TOTAL" ] &&
    [ "$(j sealed_rows)" = "$TOTAL" ] && [ "$(j after_deadline)" = 0 ]; then
    echo "PASS all $TOTAL bids accepted with verified receipts, none lost, all before the deadline"
else
    echo "FAIL not every bid was accepted, receipted and stored"
    ok=0
fi
echo "bench time $(($(date +%s) - T0)) s"
[ "$ok" = 1 ]
