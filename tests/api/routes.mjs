// The HTTP API's routes, read from the C route tables (src/api/api_*.c) with a regex,
// shared by authz-matrix.test.mjs and bad-input.test.mjs.
//
// Each entry's roles expression is evaluated from the ROLE_* bits (src/auth/roles.h),
// the ROUTE_* flags (src/http/http.h) and the file's own #defines. handlerInfo() reads
// the handler's C body for the JSON fields it declares (jsonx_field spec[]) or reads
// (jsonx_str/jsonx_int/json_object_get) and the query parameters it reads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { ROOT } from './server.mjs';

export function stripComments(src) {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

/** #define NAME value (with backslash continuations) → {NAME: value}. */
export function defines(src) {
  const out = {};
  const text = stripComments(src).replace(/\\\n/g, ' ');
  for (const m of text.matchAll(/^[ \t]*#define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+([^\n]+)$/gm)) out[m[1]] = m[2].trim();
  return out;
}

/** Evaluate a C integer expression of names, numbers, |, <<, * and parentheses. */
export function evalMask(expr, names, where) {
  let s = expr;
  for (let i = 0; i < 10 && /[A-Za-z_]/.test(s.replace(/0x[0-9a-f]+/gi, '')); i++) {
    s = s.replace(/\b[A-Za-z_][A-Za-z0-9_]*\b/g, (n) => {
      if (/^0x/i.test(n)) return n;
      if (!(n in names)) throw new Error(`${where}: unknown name ${n} in "${expr}"`);
      return `(${names[n]})`;
    });
  }
  if (!/^[0-9a-fx\s|()<*+]+$/i.test(s)) throw new Error(`${where}: cannot evaluate "${expr}" → "${s}"`);
  return Function(`"use strict"; return (${s});`)();
}

export const ROLE_BITS = {};
export const GLOBAL_NAMES = {};
{
  const roles = stripComments(fs.readFileSync(path.join(ROOT, 'src/auth/roles.h'), 'utf8'));
  for (const m of roles.matchAll(/\bROLE_([A-Z_]+)\s*=\s*1\s*<<\s*(\d+)/g)) {
    ROLE_BITS[m[1].toLowerCase()] = 1 << Number(m[2]);
    GLOBAL_NAMES[`ROLE_${m[1]}`] = String(1 << Number(m[2]));
  }
  Object.assign(GLOBAL_NAMES, defines(roles));
  const httpH = stripComments(fs.readFileSync(path.join(ROOT, 'src/http/http.h'), 'utf8'));
  for (const m of httpH.matchAll(/\b(ROUTE_[A-Z_]+|M_[A-Z]+)\s*=\s*1\s*<<\s*(\d+)/g)) GLOBAL_NAMES[m[1]] = String(1 << Number(m[2]));
}

const SOURCES = {}; // file → comment-stripped text
function source(f) {
  if (!(f in SOURCES)) SOURCES[f] = stripComments(fs.readFileSync(path.join(ROOT, 'src/api', f), 'utf8'));
  return SOURCES[f];
}

/** A route's body_max: 0 (the server's default), bytes, or null when it names a
 *  constant of another header. */
function bodyMax(expr, names) {
  if (!expr || expr === '0') return 0;
  try { return evalMask(expr, names, 'body_max'); } catch { return null; }
}

/** Every route: {file, table, method, pattern, handler, roles (mask), flags (mask),
 *  bodyMax}. */
export function parseRoutes() {
  const dir = path.join(ROOT, 'src/api');
  const routes = [];
  const tables = [];
  for (const f of fs.readdirSync(dir).filter((n) => /^api.*\.c$/.test(n)).sort()) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    const names = { ...GLOBAL_NAMES, ...defines(src), NULL: '0' };
    const text = source(f);
    for (const t of text.matchAll(/const\s+http_route\s+(\w+)_routes\s*\[\s*\]\s*=\s*\{([\s\S]*?)\n\};/g)) {
      tables.push(t[1]);
      const body = t[2].replace(/\s+/g, ' ');
      const opened = (body.match(/\{\s*M_/g) || []).length;
      let n = 0;
      for (const m of body.matchAll(/\{\s*(M_[A-Z]+)\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*([^,{}]+?)\s*,\s*([^,{}]+?)\s*(?:,\s*([^,{}]+?)\s*)?[,}]/g)) {
        const where = `${f} ${m[2]}`;
        routes.push({
          file: f, table: t[1], method: m[1].slice(2), pattern: m[2], handler: m[3],
          roles: evalMask(m[4], names, where), flags: evalMask(m[5], names, where),
          bodyMax: bodyMax(m[6], names),
        });
        n++;
      }
      // An entry this regex cannot read would silently escape the tests.
      assert.equal(n, opened, `${f}: parsed ${n} of ${opened} route entries of ${t[1]}_routes`);
    }
  }
  return { routes, tables };
}

/** The C body of function `name` in the comment-stripped text, or ''. */
function functionBody(text, name) {
  const m = new RegExp(`\\b${name}\\s*\\([^;{)]*\\)\\s*\\{`).exec(text);
  if (!m) return '';
  let depth = 0;
  for (let i = m.index + m[0].length - 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(m.index, i + 1);
  }
  return '';
}

/** What a route's handler reads: {spec: [{name, type, required, max}] | null (no
 *  jsonx_field spec in the handler), fields: [names read from the body], query: [names]}.
 *  max is the evaluated max_len, or null when it is a name this file cannot resolve. */
export function handlerInfo(rt) {
  const text = source(rt.file);
  const body = functionBody(text, rt.handler);
  const names = { ...GLOBAL_NAMES, ...defines(fs.readFileSync(path.join(ROOT, 'src/api', rt.file), 'utf8')) };
  let spec = null;
  const specs = [...body.matchAll(/jsonx_field\s+\w+\s*\[\s*\]\s*=\s*\{([\s\S]*?)\};/g)];
  if (specs.length === 1) {
    spec = [];
    for (const e of specs[0][1].matchAll(/\{\s*"(\w+)"\s*,\s*(JX_[A-Z]+)\s*,\s*(\d+)\s*,\s*([^}]*?)\s*\}/g)) {
      let max = null;
      try { max = evalMask(e[4], names, rt.handler); } catch { max = null; }
      spec.push({ name: e[1], type: e[2].slice(3).toLowerCase(), required: e[3] !== '0', max });
    }
  }
  const fields = new Set((spec || []).map((f) => f.name));
  for (const m of body.matchAll(/\b(?:jsonx_(?:str|int|bool)|json_object_get)\s*\(\s*\w+\s*,\s*"(\w+)"/g)) fields.add(m[1]);
  const query = new Set();
  for (const m of body.matchAll(/\bhttp_query(?:_int)?\s*\(\s*\w+\s*,\s*"(\w+)"/g)) query.add(m[1]);
  // Whether the handler reads a request body at all (or hands r to a helper that may).
  const readsBody = /\b(api_body|http_json_body|api_trade_body|jsonx_parse|multipart_\w+|http_body\w*)\s*\(|r->body/.test(body) ||
    /\b\w+\s*\(\s*r\s*[,)]/.test(body.replace(/\b(http_\w+|api_actor|api_path_id|api_trade_actor|api_reply|audit_\w+|too_many|\w*reply\w*)\s*\(\s*r\s*[,)]/g, ''));
  return { spec, fields: [...fields], query: [...query], readsBody };
}
