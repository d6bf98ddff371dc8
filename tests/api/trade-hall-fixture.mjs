// A tender ready for its opening hall, for the hall's API and browser tests and
// bench/opening.sh: bidder users with companies, certificates and bearer sessions,
// and sealed bids, inserted with SQL straight into the server's database (the hall
// only needs the rows a real submission leaves behind: the bid's signed commitment
// to the plaintext's SHA-256).
//
// With a PKI from tests/tools/trade-pki.sh, bidders get the real certificates of
// users ec1 ec2 rsa1 rsa2 (their roots and the RSA intermediate are trusted), every
// bid is sealed with `openssl cms -encrypt` to the bidder and the backup key, and its
// commitment is signed with the bidder's key, as docs/BIDDING.md describes; a bidder
// decrypts with `openssl cms -decrypt` (decryptBid). Without a PKI (the benchmark's
// 500 bidders) certificate rows are placeholders and bids carry only the commitment.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { dbQuery, ROOT } from './server.mjs';

const q = (s) => (s === null || s === undefined ? 'NULL' : `'${String(s).replace(/'/g, "''")}'`);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Make (once) the test PKI in dir; returns dir. */
export function ensurePki(dir) {
  const r = spawnSync('sh', [path.join(ROOT, 'tests/tools/trade-pki.sh'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`trade-pki.sh failed: ${r.stderr}`);
  return dir;
}

function openssl(args, input) {
  const r = spawnSync('openssl', args, { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A valid unified social credit code (GB 32100-2015) from a 17-character body. */
export function uscc(body17) {
  const alpha = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += alpha.indexOf(body17[i]) * w[i];
  const c = (31 - (sum % 31)) % 31;
  return body17 + alpha[c];
}

/** The plaintext a bidder seals (the pinned bid format). */
export function bidPlaintext(tenderNo, code, i) {
  return JSON.stringify({
    tender_no: tenderNo,
    uscc: code,
    form: {
      price: `${(4_800_000 + i * 13_579.25).toFixed(2)}`,
      duration_days: 180 + (i % 60),
      quality: '合格',
      project_manager: `项目经理${i + 1}`,
      deposit_ref: `BZJ-${String(i + 1).padStart(5, '0')}`,
      lot: 1,
    },
    documents: [{ name: '技术标.txt', content_base64: Buffer.from(`技术标 ${i}`).toString('base64') }],
  });
}

function certRow(pemPath) {
  const pem = fs.readFileSync(pemPath, 'utf8');
  const x = new crypto.X509Certificate(pem);
  return {
    pem,
    fingerprint: x.fingerprint256.replace(/:/g, '').toLowerCase(),
    serial: x.serialNumber.toLowerCase(),
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    key_type: x.publicKey.asymmetricKeyType === 'rsa' ? 'rsa' : 'ec',
    pubkey_sha256: crypto.createHash('sha256')
      .update(x.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'),
    not_before: iso(Date.parse(x.validFrom)),
    not_after: iso(Date.parse(x.validTo)),
  };
}

/**
 * Create a tender in status announced whose deadline has just passed, with n
 * bidders holding sealed bids. opts: {n, pki (dir or null), method, params,
 * tenderNo, title, deadlineAgoSec (default 5), prefix (login prefix), registerCerts
 * (default: when pki is given; the four certificates can be registered once per
 * database, so a second hall seals with them but registers placeholders),
 * backupCert (the backup recipient; default pki/backup/backup.crt), filesDir (the
 * server's files directory; default <db>-files, SQLite's)}. With a pki the envelopes
 * are also stored where the server keeps them (filesDir/bids/<sha256>). db is a SQLite
 * file or a postgres:// URL.
 * Returns {tenderId, tenderNo, bidders: [{login, token, userId, companyId, uscc,
 * name, plaintext, cert (name or null), bidId}], hostToken}.
 */
export function createHall(db, opts = {}) {
  const n = opts.n ?? 4;
  const pki = opts.pki || null;
  const register = pki && opts.registerCerts !== false;
  const backupCert = opts.backupCert || (pki && path.join(pki, 'backup/backup.crt'));
  const certNames = ['ec1', 'ec2', 'rsa1', 'rsa2'];
  if (pki && n > certNames.length) throw new Error('at most 4 bidders with real certificates');
  const prefix = opts.prefix || `hb${Date.now().toString(36)}`;
  const tenderNo = opts.tenderNo || `ZS-GC-2026-${String(Math.floor(Math.random() * 9000) + 1000)}`;
  const now = Date.now();
  const nowS = iso(now);
  const hash = dbQuery(db, "SELECT password_hash FROM users WHERE login = 'bidder'");
  const sql = ['BEGIN;'];
  let rootId = null;
  if (register) {
    for (const [name, file] of [['测试CA-RSA', 'ca-rsa/root.crt'], ['测试CA-EC', 'ca-ec/root.crt']]) {
      const r = certRow(path.join(pki, file));
      sql.push(`INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, home, not_after, added_at)
        VALUES (${q(name)}, ${q(r.subject)}, ${q(r.fingerprint)}, ${q(r.key_type)}, ${q(r.pem)}, 0, ${q(r.not_after)}, ${q(nowS)})
        ON CONFLICT DO NOTHING;`);
    }
    const inter = certRow(path.join(pki, 'ca-rsa/inter.crt'));
    sql.push(`INSERT INTO ca_intermediates (subject, fingerprint, pem, added_at)
      VALUES (${q(inter.subject)}, ${q(inter.fingerprint)}, ${q(inter.pem)}, ${q(nowS)}) ON CONFLICT DO NOTHING;`);
  } else {
    sql.push(`INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, home, not_after, added_at)
      VALUES ('占位CA', 'CN=placeholder', 'placeholder-root', 'rsa', 'x', 0, '2036-01-01T00:00:00Z', ${q(nowS)})
      ON CONFLICT DO NOTHING;`);
  }
  const bidders = [];
  for (let i = 0; i < n; i++) {
    const login = `${prefix}_${i}`;
    const body = `91330900${prefix.replace(/[^0-9A-HJ-NPQRTUWXY]/gi, '').toUpperCase().replace(/[IOSVZ]/g, '1').slice(-4).padStart(4, '0')}${String(i).padStart(5, '0')}`;
    const code = uscc(body.slice(0, 17));
    const token = crypto.randomBytes(24).toString('base64url');
    const b = {
      login, token, uscc: code, name: `舟山${prefix.slice(-4)}第${i + 1}建设有限公司`,
      plaintext: bidPlaintext(tenderNo, code, i), cert: pki ? certNames[i] : null,
    };
    bidders.push(b);
    sql.push(`INSERT INTO users (login, display_name, role, password_hash, created_at, updated_at, password_changed_at)
      VALUES (${q(login)}, ${q(`投标人${i + 1}`)}, 'bidder', ${q(hash)}, ${q(nowS)}, ${q(nowS)}, ${q(nowS)});`);
    sql.push(`INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES (${q(code)}, ${q(b.name)}, ${q(nowS)}, ${q(nowS)});`);
    sql.push(`INSERT INTO trade_company_users (user_id, company_id, created_at)
      SELECT u.id, c.id, ${q(nowS)} FROM users u, trade_companies c WHERE u.login = ${q(login)} AND c.uscc = ${q(code)};`);
    sql.push(`INSERT INTO sessions (token_hash, user_id, kind, csrf_token, created_at, expires_at, last_seen_at)
      SELECT ${q(crypto.createHash('sha256').update(token).digest('hex'))}, id, 'token', 'x', ${q(nowS)}, ${q(iso(now + 86400e3))}, ${q(nowS)}
      FROM users WHERE login = ${q(login)};`);
    let cr;
    if (register) {
      cr = certRow(path.join(pki, `users/${b.cert}.crt`));
      const chain = path.join(pki, `users/${b.cert}.chain.pem`);
      if (fs.existsSync(chain)) cr.pem = fs.readFileSync(chain, 'utf8');
      cr.root = b.cert.startsWith('rsa') ? 'ca-rsa/root.crt' : 'ca-ec/root.crt';
      rootId = `(SELECT id FROM ca_roots WHERE fingerprint = ${q(certRow(path.join(pki, cr.root)).fingerprint)})`;
    } else {
      cr = {
        pem: 'x', fingerprint: `placeholder-${login}`, serial: '01', subject: `CN=${login}`, issuer: 'CN=placeholder',
        key_type: 'rsa', pubkey_sha256: 'x', not_before: '2026-01-01T00:00:00Z', not_after: '2036-01-01T00:00:00Z',
      };
      rootId = "(SELECT id FROM ca_roots WHERE fingerprint = 'placeholder-root')";
    }
    sql.push(`INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, issuer, key_type, pubkey_sha256, ca_root_id, pem, not_before, not_after, registered_at)
      SELECT u.id, c.company_id, ${q(cr.fingerprint)}, ${q(cr.serial)}, ${q(cr.subject)}, ${q(cr.issuer)}, ${q(cr.key_type)}, ${q(cr.pubkey_sha256)}, ${rootId}, ${q(cr.pem)}, ${q(cr.not_before)}, ${q(cr.not_after)}, ${q(nowS)}
      FROM users u JOIN trade_company_users c ON c.user_id = u.id WHERE u.login = ${q(login)};`);
  }
  const params = opts.params || '{"factor_min":0.95,"factor_max":0.98}';
  sql.push(`INSERT INTO tenders (tender_no, kind, title, buyer, budget_fen, deposit_fen, method, method_params, status,
      announce_at, deadline_at, created_at, updated_at)
    VALUES (${q(tenderNo)}, 'works', ${q(opts.title || '六横镇小郭巨码头改造工程施工')}, '舟山市普陀区六横镇人民政府',
      600000000, 10000000, ${q(opts.method || 'reasonable_low')}, ${q(params)}, 'announced', ${q(iso(now - 20 * 86400e3))},
      ${q(iso(now - (opts.deadlineAgoSec ?? 5) * 1000))}, ${q(nowS)}, ${q(nowS)});`);
  for (const b of bidders) {
    const sha = crypto.createHash('sha256').update(b.plaintext).digest('hex');
    let envSha = sha;
    let envSize = b.plaintext.length;
    let sig = 'placeholder';
    if (pki) {
      const env = openssl(['cms', '-encrypt', '-binary', '-aes-256-cbc', '-outform', 'DER',
        '-recip', path.join(pki, `users/${b.cert}.crt`), '-recip', backupCert],
      Buffer.from(b.plaintext));
      b.envelope = env;
      envSha = crypto.createHash('sha256').update(env).digest('hex');
      const dir = path.join(opts.filesDir || `${db}-files`, 'bids');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, envSha), env);
      envSize = env.length;
      const msg = `isle-bid-commitment:v1:${tenderNo}:${b.uscc}:${sha}`;
      sig = crypto.sign('sha256', Buffer.from(msg),
        crypto.createPrivateKey(fs.readFileSync(path.join(pki, `users/${b.cert}.key`)))).toString('base64');
    }
    sql.push(`INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, envelope_kind, envelope_sha256,
        envelope_size, to_backup, commitment_sha256, commitment_sig, receipt, receipt_sig, submitted_at, created_at, updated_at)
      SELECT t.id, cu.company_id, u.id, (SELECT MAX(id) FROM trade_certs WHERE user_id = u.id), 1, 'sealed', 'cms',
        ${q(envSha)}, ${envSize}, 1, ${q(sha)}, ${q(sig)}, '{}', 'placeholder', ${q(iso(now - 86400e3))}, ${q(nowS)}, ${q(nowS)}
      FROM tenders t, users u JOIN trade_company_users cu ON cu.user_id = u.id
      WHERE t.tender_no = ${q(tenderNo)} AND u.login = ${q(b.login)};`);
  }
  sql.push('COMMIT;');
  const file = path.join(fs.mkdtempSync('/tmp/isle-hall-sql-'), 'fixture.sql');
  fs.writeFileSync(file, sql.join('\n'));
  const r = /^postgres(ql)?:\/\//.test(db)
    ? spawnSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', file], { encoding: 'utf8' })
    : spawnSync('sqlite3', ['-cmd', '.timeout 10000', db, `.read ${file}`], { encoding: 'utf8' });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`fixture SQL failed: ${r.stderr}`);
  const tenderId = Number(dbQuery(db, `SELECT id FROM tenders WHERE tender_no = ${q(tenderNo)}`));
  const rows = dbQuery(db, `SELECT u.login, u.id, b.company_id, b.id FROM bids b JOIN users u ON u.id = b.user_id
    WHERE b.tender_id = ${tenderId}`).split('\n');
  for (const line of rows) {
    const [login, uid, cid, bid] = line.split('|');
    const b = bidders.find((x) => x.login === login);
    Object.assign(b, { userId: Number(uid), companyId: Number(cid), bidId: Number(bid) });
  }
  return { tenderId, tenderNo, bidders };
}

/** What the bidder does at home: decrypt its envelope with its own key. */
export function decryptBid(pki, b) {
  return openssl(['cms', '-decrypt', '-binary', '-inform', 'DER',
    '-recip', path.join(pki, `users/${b.cert}.crt`), '-inkey', path.join(pki, `users/${b.cert}.key`)], b.envelope);
}

/** The bidder's signature (base64) over the confirmation string. */
export function signConfirm(pki, b, text) {
  return crypto.sign('sha256', Buffer.from(text),
    crypto.createPrivateKey(fs.readFileSync(path.join(pki, `users/${b.cert}.key`)))).toString('base64');
}
