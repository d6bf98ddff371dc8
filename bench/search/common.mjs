// bench/search/common.mjs: helpers shared by the search benchmarks' Node.js scripts
// (the two peers, the scorer and the catalog generator). No network, no state.
import { readFileSync } from 'node:fs';

// readItems FILE: the catalog items of an items.jsonl file (blank lines skipped).
export function readItems(file) {
    const items = [];
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i].trim();
        if (!line) continue;
        try {
            items.push(JSON.parse(line));
        } catch (e) {
            throw new Error(`${file}:${i + 1}: ${e.message}`);
        }
    }
    return items;
}

// readItemsList SPEC: the items of one or more items.jsonl files, comma-separated.
export function readItemsList(spec) {
    const all = [];
    for (const f of String(spec).split(',').filter(Boolean)) for (const it of readItems(f)) all.push(it);
    return all;
}

// readQueries FILE: the rows of a query set (TSV with a header line:
// query, kind, expected_codes, intent). expected is a Set of codes.
export function readQueries(file) {
    const rows = [];
    const lines = readFileSync(file, 'utf8').split('\n');
    let header = null;
    for (let i = 0; i < lines.length; i++) {
        const line = lines[i].replace(/\r$/, '');
        if (!line.trim()) continue;
        const f = line.split('\t');
        if (!header) {
            header = f.map((s) => s.trim());
            if (header[0] !== 'query') throw new Error(`${file}:1: header must start with "query"`);
            continue;
        }
        const col = (name) => {
            const k = header.indexOf(name);
            return k >= 0 && k < f.length ? f[k].trim() : '';
        };
        rows.push({
            line: i + 1,
            query: col('query'),
            kind: col('kind') || 'all',
            expected: new Set(col('expected_codes').split(',').map((s) => s.trim()).filter(Boolean)),
            intent: col('intent'),
        });
    }
    return rows;
}

// readStdinLines: stdin split into lines (no trailing empty line).
export function readStdinLines() {
    const text = readFileSync(0, 'utf8');
    const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines;
}

// argv parsing: --key value and --flag; positional arguments in _.
export function parseArgs(argv, flags = []) {
    const out = { _: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a.startsWith('--')) {
            const k = a.slice(2);
            if (flags.includes(k)) out[k] = true;
            else out[k] = argv[++i];
        } else out._.push(a);
    }
    return out;
}

// The text of an item that is neither its name nor its keywords, for "the rest" fields.
export function itemBody(it) {
    const parts = [it.conditions, it.result, it.basis];
    for (const p of it.process || []) parts.push(p);
    for (const m of it.materials || []) parts.push(m.name);
    for (const f of it.faq || []) parts.push(f.q, f.a);
    return parts.filter(Boolean).join('\n');
}

// percentile of a sorted numeric array (nearest rank).
export function percentile(sorted, p) {
    if (!sorted.length) return 0;
    const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[k];
}
