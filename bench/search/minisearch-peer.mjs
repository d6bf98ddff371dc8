#!/usr/bin/env node
// bench/search/minisearch-peer.mjs: the Node.js peer of isle's search engine, built the
// way a competent engineer would build Chinese service search from the usual npm
// packages, with nothing tuned to any query set:
//
//   MiniSearch 7 (BM25+, prefix and fuzzy search) over the catalog, with
//   - normalisation: NFKC (full-width -> half-width), lower case, traditional ->
//     simplified with opencc-js (OpenCC's tables), punctuation -> space;
//   - segmentation: @node-rs/jieba (jieba's default dictionary, HMM on), search mode
//     (cutForSearch) for the indexed text, so "老年人优待证" also yields 老年, 优待, 优待证;
//   - pinyin with pinyin-pro (context-aware readings): each name and keyword is indexed
//     as whole-phrase pinyin ("shehuibaozhangka"), per-word pinyin ("shehui baozhang ka")
//     and initials ("shbzk", "sh bz k"), searched by prefix, with fuzzy matching
//     (1 edit) on longer pinyin;
//   - fields boosted name >> keywords > pinyin/initials > department/type > the rest
//     (conditions, materials, process, FAQ, result, basis);
//   - query: Chinese runs segmented (jieba, precise mode) minus a generic list of
//     question/function words, Latin runs searched as pinyin, initials and plain words,
//     and the whole query's pinyin as a weaker sub-query (catches homophone typos and
//     mixed input like 社bao卡); sub-queries combined with OR (MiniSearch sums scores).
//
// Usage:
//   minisearch-peer.mjs --items FILE[,FILE…] [--limit N]     batch: stdin one query a line,
//                                                            stdout "query<TAB>code,code…"
//   minisearch-peer.mjs --items FILE --bench N [--seconds S] [--queries F]
//                                      in-process throughput of N searches (or as many as fit
//                                      in S seconds) cycling over the queries (stdin lines, or
//                                      F's query column), after one warm-up pass; prints JSON
import MiniSearch from 'minisearch';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { pinyin } from 'pinyin-pro';
import * as OpenCC from 'opencc-js';
import { readItemsList, readQueries, readStdinLines, parseArgs, itemBody, percentile } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
if (!args.items) {
    console.error('usage: minisearch-peer.mjs --items FILE [--limit N] [--bench N [--queries FILE]]');
    process.exit(2);
}
const LIMIT = Number(args.limit || 10);

const jieba = Jieba.withDict(dict);
const t2s = OpenCC.Converter({ from: 'tw', to: 'cn' });

// Generic Chinese question and function words (the usual stop-word list, not per query).
const STOP = new Set(
    ('的 了 吗 呢 吧 啊 呀 么 我 我们 你 您 他 她 想 要 需要 需 得 怎么 怎么样 怎样 如何 ' +
        '什么 啥 哪 哪些 哪里 哪儿 在 去 到 能 能不能 可以 可不可以 会 多少 多久 多长时间 ' +
        '几天 几 有 有没有 没有 和 与 及 或 是 不是 请问 一下 个 一个 这个 那个 就 都 也 ' +
        '还 把 被 给 让 用 做 办 办理 怎么办 如何办理 吗 请 帮 帮忙').split(/\s+/),
);

const isHan = (ch) => /\p{Script=Han}/u.test(ch);

function normalize(s) {
    s = t2s(String(s).normalize('NFKC').toLowerCase());
    return s.replace(/[\p{P}\p{S}]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

// Index-side tokenizer: jieba search mode over normalised text; Latin/digit words kept.
function tokenizeText(text) {
    const out = [];
    for (const tok of jieba.cutForSearch(normalize(text), true)) {
        const t = tok.trim();
        if (t) out.push(t);
    }
    return out;
}

function pinyinSyllables(word) {
    return pinyin(word, { toneType: 'none', type: 'array', nonZh: 'consecutive', v: true })
        .map((s) => s.toLowerCase().replace(/[^a-z0-9]/g, ''))
        .filter(Boolean);
}

// Pinyin tokens of a phrase: the whole phrase ("shehuibaozhangka"), each jieba word
// ("shehui", "baozhang", "ka"); initials likewise ("shbzk"; "sh", "bz", "k").
function pinyinTokens(phrase) {
    const full = [];
    const init = [];
    const p = normalize(phrase);
    if (!p) return { full, init };
    const all = pinyinSyllables(p);
    full.push(all.join(''));
    init.push(all.map((s) => s[0]).join(''));
    for (const w of jieba.cut(p, true)) {
        if (!w.trim() || ![...w].some(isHan)) continue;
        const syl = pinyinSyllables(w);
        if (syl.length > 1) {
            full.push(syl.join(''));
            init.push(syl.map((s) => s[0]).join(''));
        }
    }
    return { full, init };
}

function docOf(it) {
    const pyFull = [];
    const pyInit = [];
    for (const phrase of [it.name, ...(it.keywords || [])]) {
        const { full, init } = pinyinTokens(phrase);
        pyFull.push(...full);
        pyInit.push(...init);
    }
    return {
        id: it.code,
        name: it.name,
        keywords: (it.keywords || []).join(' '),
        py: pyFull.join(' '),
        initials: pyInit.join(' '),
        dept: `${it.department || ''} ${it.type || ''}`,
        body: itemBody(it),
    };
}

const T_LOAD = process.hrtime.bigint();
const items = readItemsList(args.items);
const ms = new MiniSearch({
    idField: 'id',
    fields: ['name', 'keywords', 'py', 'initials', 'dept', 'body'],
    storeFields: [],
    tokenize: (text, field) => (field === 'py' || field === 'initials' ? text.split(' ').filter(Boolean) : tokenizeText(text)),
    processTerm: (t) => t,
    searchOptions: { tokenize: (t) => [t] },
});
const DOCS = items.map(docOf);
const T_DOCS = Number(process.hrtime.bigint() - T_LOAD) / 1e6;
ms.addAll(DOCS);
if (process.env.PEER_DEBUG) console.error(`docs ${Math.round(T_DOCS)} ms, total ${Math.round(Number(process.hrtime.bigint() - T_LOAD) / 1e6)} ms`);
const BUILD_MS = Number(process.hrtime.bigint() - T_LOAD) / 1e6;

const TEXT_BOOST = { name: 10, keywords: 5, dept: 1, body: 0.6 };

function search(raw) {
    const q = normalize(raw);
    if (!q) return [];
    const subs = [];
    // Chinese and other words: precise-mode segmentation minus stop words.
    const words = jieba.cut(q, true).map((w) => w.trim()).filter((w) => w && !STOP.has(w));
    const han = words.filter((w) => [...w].some(isHan));
    if (han.length) {
        subs.push({ queries: han, fields: ['name', 'keywords', 'dept', 'body'], boost: TEXT_BOOST, prefix: (t) => t.length >= 2 });
    }
    // Latin runs: pinyin (prefix, fuzzy on long ones), initials (prefix), plain words.
    const latin = q.match(/[a-z]+/g) || [];
    for (const w of latin) {
        subs.push({
            queries: [w],
            fields: ['py'],
            boost: { py: 6 },
            prefix: true,
            fuzzy: w.length >= 6 ? 1 : false,
        });
        if (w.length <= 6) subs.push({ queries: [w], fields: ['initials'], boost: { initials: 5 }, prefix: true });
        subs.push({ queries: [w], fields: ['name', 'keywords', 'body'], boost: TEXT_BOOST, prefix: true });
    }
    // The whole query as pinyin (homophone typos, mixed Chinese + pinyin input).
    if (han.length) {
        const whole = pinyinSyllables(q.replace(/\s+/g, '')).join('');
        if (whole.length >= 2) subs.push({ queries: [whole], fields: ['py'], boost: { py: 2 }, prefix: true, fuzzy: whole.length >= 8 ? 1 : false });
    }
    if (!subs.length) return [];
    const res = ms.search({ combineWith: 'OR', queries: subs });
    return res.slice(0, LIMIT).map((r) => r.id);
}

if (args.bench) {
    const n = Number(args.bench);
    const budget = Number(args.seconds || 0) * 1e9; // stop early after this much time (0 = none)
    const qs = args.queries ? readQueries(args.queries).map((r) => r.query) : readStdinLines().filter((l) => l.trim());
    if (!qs.length) throw new Error('no queries');
    for (let i = 0; i < Math.min(n, qs.length); i++) search(qs[i % qs.length]); // warm-up: each query once
    const lat = new Float64Array(n);
    let hits = 0;
    let done = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
        const a = process.hrtime.bigint();
        hits += search(qs[i % qs.length]).length;
        const b = process.hrtime.bigint();
        lat[i] = Number(b - a) / 1e3;
        done++;
        if (budget && Number(b - t0) > budget) break;
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const sorted = Array.from(lat.subarray(0, done)).sort((x, y) => x - y);
    const mem = process.memoryUsage();
    console.log(
        JSON.stringify({
            items: items.length,
            build_ms: Math.round(BUILD_MS),
            queries: done,
            seconds: +secs.toFixed(3),
            qps: Math.round(done / secs),
            p50_us: +percentile(sorted, 50).toFixed(1),
            p99_us: +percentile(sorted, 99).toFixed(1),
            results: hits,
            rss_mib: Math.round(mem.rss / 1048576),
        }),
    );
} else {
    const out = [];
    for (const line of readStdinLines()) out.push(`${line}\t${search(line).join(',')}`);
    process.stdout.write(out.length ? out.join('\n') + '\n' : '');
}
