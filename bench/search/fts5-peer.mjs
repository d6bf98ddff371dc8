#!/usr/bin/env node
// bench/search/fts5-peer.mjs: the SQLite FTS5 peer of isle's search engine, through the
// sqlite3 command-line shell (Debian's sqlite3 package), built as a plain, sensible
// FTS5 search over Chinese text without a segmenter:
//
//   CREATE VIRTUAL TABLE items USING fts5(code UNINDEXED, name, keywords, rest,
//                                         tokenize = 'trigram')
//   rest = department, type, conditions, materials, process, FAQ, result, basis.
//   Ranking: bm25(items, 0, 10, 4, 1) (name heavily weighted over keywords and the rest).
//
//   Query: NFKC (full-width -> half-width) and lower case, split on white space and
//   punctuation into terms. A term of 3 or more characters is an FTS5 phrase ("term",
//   matched through the trigram index); a shorter one cannot use the trigram index, so
//   it is matched with LIKE '%term%' on each column and scored 10/4/1 for a hit in
//   name/keywords/rest (the same column weights). Items are ranked by how many terms
//   they match, then by the summed score (AND first, OR after: a coordination-level
//   ranking). When that gives fewer results than the limit (typically a whole sentence
//   typed as one term), the rest of the list comes from an OR over the term's
//   trigrams, ranked by bm25 — the usual n-gram fallback.
//
// Usage:
//   fts5-peer.mjs build --items FILE --db FILE      create the FTS5 database
//   fts5-peer.mjs search --db FILE [--limit N]      stdin one query a line, stdout
//                                                   "query<TAB>code,code…" per line
import { spawnSync } from 'node:child_process';
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import { readItems, readStdinLines, parseArgs, itemBody } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
const cmd = args._[0];
const SQLITE = process.env.SQLITE3 || 'sqlite3';
const W = { name: 10, keywords: 4, rest: 1 };

function sqlite(db, sql) {
    const r = spawnSync(SQLITE, ['-batch', '-bail', db], { input: sql, encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`sqlite3 failed (${r.status}): ${r.stderr}`);
    return r.stdout;
}

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

function build() {
    if (!args.items || !args.db) throw new Error('usage: fts5-peer.mjs build --items FILE --db FILE');
    if (existsSync(args.db)) rmSync(args.db);
    const items = readItems(args.items);
    const sql = [
        'PRAGMA journal_mode=OFF;',
        'PRAGMA synchronous=OFF;',
        "CREATE VIRTUAL TABLE items USING fts5(code UNINDEXED, name, keywords, rest, tokenize = 'trigram');",
        'BEGIN;',
    ];
    for (const it of items) {
        const rest = [it.department, it.type, itemBody(it)].filter(Boolean).join('\n');
        sql.push(
            `INSERT INTO items(code, name, keywords, rest) VALUES (${q(it.code)}, ${q(norm(it.name))}, ` +
                `${q(norm((it.keywords || []).join(' ')))}, ${q(norm(rest))});`,
        );
    }
    sql.push('COMMIT;', "INSERT INTO items(items) VALUES ('optimize');");
    sqlite(args.db, sql.join('\n'));
}

function norm(s) {
    return String(s).normalize('NFKC').toLowerCase();
}

function terms(query) {
    return norm(query)
        .split(/[\s\p{P}\p{S}]+/u)
        .filter(Boolean);
}

const chars = (s) => [...s];
const ftsPhrase = (t) => `"${t.replace(/"/g, '""')}"`;
const likePat = (t) => q(`%${t.replace(/[\\%_]/g, (c) => '\\' + c)}%`);

// One SELECT per (query, term) producing "qi|kind|ti|code|score" rows.
function termSql(qi, ti, t) {
    if (chars(t).length >= 3) {
        return (
            `SELECT ${qi}, 't', ${ti}, code, -bm25(items, 0, ${W.name}, ${W.keywords}, ${W.rest}) ` +
            `FROM items WHERE items MATCH ${q(ftsPhrase(t))};`
        );
    }
    const p = likePat(t);
    return (
        `SELECT ${qi}, 't', ${ti}, code, ` +
        `(CASE WHEN name LIKE ${p} ESCAPE '\\' THEN ${W.name} ELSE 0 END) + ` +
        `(CASE WHEN keywords LIKE ${p} ESCAPE '\\' THEN ${W.keywords} ELSE 0 END) + ` +
        `(CASE WHEN rest LIKE ${p} ESCAPE '\\' THEN ${W.rest} ELSE 0 END) ` +
        `FROM items WHERE name LIKE ${p} ESCAPE '\\' OR keywords LIKE ${p} ESCAPE '\\' OR rest LIKE ${p} ESCAPE '\\';`
    );
}

// The trigram OR fallback: every trigram of every long term, ranked by bm25.
function fallbackSql(qi, ts, limit) {
    const grams = new Set();
    for (const t of ts) {
        const c = chars(t);
        for (let i = 0; i + 3 <= c.length; i++) grams.add(c.slice(i, i + 3).join(''));
    }
    if (!grams.size) return '';
    const expr = [...grams].map(ftsPhrase).join(' OR ');
    return (
        `SELECT ${qi}, 'f', 0, code, -bm25(items, 0, ${W.name}, ${W.keywords}, ${W.rest}) ` +
        `FROM items WHERE items MATCH ${q(expr)} ORDER BY bm25(items, 0, ${W.name}, ${W.keywords}, ${W.rest}) LIMIT ${limit};`
    );
}

function search() {
    if (!args.db) throw new Error('usage: fts5-peer.mjs search --db FILE [--limit N]');
    const limit = Number(args.limit || 10);
    const lines = readStdinLines();
    const sql = ['.mode list', ".separator '\t'"];
    const tlist = lines.map(terms);
    tlist.forEach((ts, qi) => {
        ts.forEach((t, ti) => sql.push(termSql(qi, ti, t)));
        const f = fallbackSql(qi, ts, limit * 5);
        if (f) sql.push(f);
    });
    const hits = lines.map(() => ({ terms: new Map(), fb: [] }));
    if (tlist.some((ts) => ts.length)) {
        for (const row of sqlite(args.db, sql.join('\n')).split('\n')) {
            if (!row) continue;
            const [qi, kind, ti, code, score] = row.split('\t');
            const h = hits[Number(qi)];
            if (kind === 'f') {
                h.fb.push(code);
                continue;
            }
            let e = h.terms.get(code);
            if (!e) h.terms.set(code, (e = { matched: new Set(), score: 0 }));
            e.matched.add(ti);
            e.score += Number(score);
        }
    }
    const out = lines.map((line, qi) => {
        const h = hits[qi];
        const ranked = [...h.terms.entries()]
            .sort((a, b) => b[1].matched.size - a[1].matched.size || b[1].score - a[1].score || (a[0] < b[0] ? -1 : 1))
            .map((e) => e[0]);
        const seen = new Set(ranked);
        for (const c of h.fb) {
            if (ranked.length >= limit) break;
            if (!seen.has(c)) {
                seen.add(c);
                ranked.push(c);
            }
        }
        return `${line}\t${ranked.slice(0, limit).join(',')}`;
    });
    process.stdout.write(out.length ? out.join('\n') + '\n' : '');
}

if (cmd === 'build') build();
else if (cmd === 'search') search();
else {
    console.error('usage: fts5-peer.mjs build --items FILE --db FILE | search --db FILE [--limit N]');
    process.exit(2);
}
