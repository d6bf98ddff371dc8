#!/usr/bin/env node
// bench/search/score.mjs: Recall@1, Recall@5 and MRR, overall and per query kind, of
// one or more systems' batch outputs on a query set, the assistant's intent accuracy,
// and the verdicts against issue 3's targets.
//
//   score.mjs --queries FILE --system NAME=FILE [--system NAME=FILE …]
//             [--target NAME] [--intents FILE] [--json FILE]
//
// A system's FILE holds one line per query, in the query set's order, in the format of
// `isle search --batch`: the query, a TAB, the ranked item codes separated by commas
// (at most 10 are read). --target names the system under test (isle); the others are
// peers. --intents FILE holds "query<TAB>intent[<TAB>item]" lines from `isle ask --json`
// (intent accuracy is the target; the share of answers naming one of the expected
// items is shown for information).
//
// Metric semantics. A query's expected_codes are alternatives: the query is answered
// by ANY one of them (e.g. the same service offered by several districts). The rank of
// a query is the 1-based position of the first returned code that is in its expected
// set, looking at the first 10 results; none there = no rank.
//   Recall@k = share of queries with rank <= k   (i.e. success@k / hit rate at k)
//   MRR      = mean over queries of 1/rank (0 when no rank), i.e. MRR@10
// Every query counts once; "all" is over every query, a kind's row over its queries.
import { readFileSync, writeFileSync } from 'node:fs';
import { readQueries } from './common.mjs';

const argv = process.argv.slice(2);
const systems = [];
let queriesFile = null;
let target = null;
let intentsFile = null;
let jsonOut = null;
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--queries') queriesFile = argv[++i];
    else if (a === '--system') {
        const v = argv[++i];
        const k = v.indexOf('=');
        systems.push({ name: v.slice(0, k), file: v.slice(k + 1) });
    } else if (a === '--target') target = argv[++i];
    else if (a === '--intents') intentsFile = argv[++i];
    else if (a === '--json') jsonOut = argv[++i];
    else {
        console.error(`score.mjs: unknown argument ${a}`);
        process.exit(2);
    }
}
if (!queriesFile || !systems.length) {
    console.error('usage: score.mjs --queries FILE --system NAME=FILE … [--target NAME] [--intents FILE] [--json FILE]');
    process.exit(2);
}

const rows = readQueries(queriesFile);
const kinds = [...new Set(rows.map((r) => r.kind))];
const K = 10;

function readRuns(file) {
    let text = '';
    try {
        text = readFileSync(file, 'utf8');
    } catch {
        return null;
    }
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.map((l) => {
        const tab = l.lastIndexOf('\t');
        if (tab < 0) return { echo: l, codes: [] };
        return {
            echo: l.slice(0, tab),
            codes: l.slice(tab + 1).split(',').map((s) => s.trim()).filter(Boolean).slice(0, K),
        };
    });
}

function evaluate(sys) {
    const runs = readRuns(sys.file);
    const notes = [];
    if (!runs) notes.push(`no output file ${sys.file}`);
    else if (runs.length !== rows.length) notes.push(`${runs.length} output lines for ${rows.length} queries`);
    let echoMismatch = 0;
    const per = rows.map((r, i) => {
        const run = runs && runs[i];
        if (run && run.echo.trim() !== r.query) echoMismatch++;
        const codes = run ? run.codes : [];
        const pos = codes.findIndex((c) => r.expected.has(c));
        return { kind: r.kind, rank: pos >= 0 ? pos + 1 : 0, empty: codes.length === 0, top: codes[0] || '' };
    });
    if (echoMismatch) notes.push(`${echoMismatch} lines do not echo their query (matched by line order)`);
    const agg = (list) => {
        const n = list.length;
        if (!n) return { n: 0, r1: 0, r5: 0, mrr: 0, empty: 0 };
        const r1 = list.filter((p) => p.rank === 1).length / n;
        const r5 = list.filter((p) => p.rank >= 1 && p.rank <= 5).length / n;
        const mrr = list.reduce((s, p) => s + (p.rank ? 1 / p.rank : 0), 0) / n;
        return { n, r1, r5, mrr, empty: list.filter((p) => p.empty).length };
    };
    const res = { name: sys.name, all: agg(per), kinds: {}, notes, misses: [] };
    for (const k of kinds) res.kinds[k] = agg(per.filter((p) => p.kind === k));
    per.forEach((p, i) => {
        if (p.rank !== 1) res.misses.push({ query: rows[i].query, kind: p.kind, rank: p.rank, top: p.top });
    });
    return res;
}

const f3 = (x) => x.toFixed(3);
const results = systems.map(evaluate);

console.log(`query set: ${queriesFile} (${rows.length} queries; kinds: ${kinds.map((k) => `${k} ${rows.filter((r) => r.kind === k).length}`).join(', ')})`);
console.log('metrics: a hit is ANY of a query\'s expected_codes; rank = first hit in the top 10;');
console.log('         Recall@k = share of queries with a hit in the top k; MRR = mean 1/rank (0 if none in the top 10)');
for (const r of results) {
    console.log();
    console.log(`== ${r.name} ==`);
    for (const n of r.notes) console.log(`  warning: ${n}`);
    console.log(`  ${'kind'.padEnd(12)} ${'n'.padStart(4)} ${'R@1'.padStart(6)} ${'R@5'.padStart(6)} ${'MRR'.padStart(6)} ${'empty'.padStart(6)}`);
    for (const k of [...kinds, 'all']) {
        const a = k === 'all' ? r.all : r.kinds[k];
        console.log(`  ${k.padEnd(12)} ${String(a.n).padStart(4)} ${f3(a.r1).padStart(6)} ${f3(a.r5).padStart(6)} ${f3(a.mrr).padStart(6)} ${String(a.empty).padStart(6)}`);
    }
}

console.log();
console.log('== MRR by kind ==');
console.log(`  ${'kind'.padEnd(12)} ${results.map((r) => r.name.padStart(11)).join(' ')}`);
for (const k of [...kinds, 'all']) {
    console.log(`  ${k.padEnd(12)} ${results.map((r) => f3(k === 'all' ? r.all.mrr : r.kinds[k].mrr).padStart(11)).join(' ')}`);
}
console.log('== Recall@5 by kind ==');
console.log(`  ${'kind'.padEnd(12)} ${results.map((r) => r.name.padStart(11)).join(' ')}`);
for (const k of [...kinds, 'all']) {
    console.log(`  ${k.padEnd(12)} ${results.map((r) => f3(k === 'all' ? r.all.r5 : r.kinds[k].r5).padStart(11)).join(' ')}`);
}

// Intent accuracy of the assistant.
let intent = null;
if (intentsFile) {
    const got = readFileSync(intentsFile, 'utf8').split('\n').filter((l) => l.length).map((l) => l.split('\t'));
    let ok = 0;
    let itemOk = 0;
    const byIntent = {};
    const wrong = [];
    rows.forEach((r, i) => {
        const g = got[i] ? (got[i][1] || '').trim() : '';
        const item = got[i] ? (got[i][2] || '').trim() : '';
        if (item && r.expected.has(item)) itemOk++;
        const b = (byIntent[r.intent] ||= { n: 0, ok: 0 });
        b.n++;
        if (g === r.intent) {
            ok++;
            b.ok++;
        } else wrong.push({ query: r.query, expected: r.intent, got: g });
    });
    intent = { n: rows.length, accuracy: rows.length ? ok / rows.length : 0, item_accuracy: rows.length ? itemOk / rows.length : 0, byIntent, wrong };
    console.log();
    console.log(`== assistant intent (isle ask --json) ==`);
    console.log(`  accuracy ${f3(intent.accuracy)} (${ok}/${rows.length}); by expected intent: ` +
        Object.entries(byIntent).map(([k, v]) => `${k} ${v.ok}/${v.n}`).join(', '));
    console.log(`  item named by the answer is one of the expected codes: ${f3(intent.item_accuracy)} (${itemOk}/${rows.length}; information, no target)`);
    for (const w of wrong.slice(0, 20)) console.log(`  wrong: ${w.query} -> ${w.got || '(none)'} (expected ${w.expected})`);
}

// Misses of the target system (rank != 1), for the developers; shown in full.
const tgt = results.find((r) => r.name === target);
if (tgt && tgt.misses.length) {
    console.log();
    console.log(`== ${tgt.name}: queries not answered at rank 1 (${tgt.misses.length}) ==`);
    for (const m of tgt.misses) console.log(`  [${m.kind}] ${m.query} -> rank ${m.rank || '>10'}, top ${m.top || '(none)'}`);
}

// Verdicts.
let fail = 0;
if (tgt) {
    const peers = results.filter((r) => r !== tgt);
    const best = peers.reduce((b, r) => (!b || r.all.mrr > b.all.mrr ? r : b), null);
    console.log();
    const v = (ok, label, detail) => {
        console.log(`${ok ? 'PASS' : 'FAIL'}  ${label} (${detail})`);
        if (!ok) fail = 1;
    };
    v(tgt.all.r5 >= 0.95, `${tgt.name} Recall@5 >= 0.95`, f3(tgt.all.r5));
    v(tgt.all.mrr >= 0.85, `${tgt.name} MRR >= 0.85`, f3(tgt.all.mrr));
    if (best) {
        v(tgt.all.mrr >= best.all.mrr + 0.15 - 1e-9, `${tgt.name} MRR >= best peer MRR + 0.15`,
            `${f3(tgt.all.mrr)} vs ${best.name} ${f3(best.all.mrr)}: +${f3(tgt.all.mrr - best.all.mrr)}`);
    }
    if (intent) v(intent.accuracy >= 0.9, 'assistant intent accuracy >= 0.9', f3(intent.accuracy));
    else console.log('assistant: not available');
    console.log();
    console.log(`search quality verdict: ${fail ? 'FAIL' : 'PASS'}`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ queries: queriesFile, results, intent, fail }, null, 2));
process.exit(fail ? 3 : 0);
