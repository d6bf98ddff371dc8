#!/usr/bin/env node
// bench/search/isle-probe.mjs: run `isle search --batch --stats --repeat R` once on a
// database and report, as one JSON line, the engine's own figures (what --stats prints
// to stderr: resources, index build, reading + build, RSS, per-query latency and
// queries/s on one thread, and the CPU time of the build and of each query) next to what is seen from outside: the process's peak RSS
// (VmHWM, sampled from /proc every 20 ms: a high-water mark, so any sample after the
// build holds the build's peak), its wall and CPU time, and the number of answer lines.
//
//   isle-probe.mjs --isle BIN --db FILE --queries TSV [--cpu N] [--repeat R] [--limit 10]
//
// --cpu N pins isle to CPU N with taskset (one core, as the target is per core).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readQueries, parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
if (!args.isle || !args.db || !args.queries) {
    console.error('usage: isle-probe.mjs --isle BIN --db FILE --queries TSV [--cpu N] [--repeat R] [--limit 10]');
    process.exit(2);
}
const queries = readQueries(args.queries).map((r) => r.query);
const cmd = [args.isle, '--db', args.db, 'search', '--batch', '--limit', String(args.limit || 10), '--stats',
    '--repeat', String(args.repeat || 100)];
const argv = args.cpu !== undefined ? ['taskset', '-c', String(args.cpu), ...cmd] : cmd;

const HZ = 100; // USER_HZ
const t0 = process.hrtime.bigint();
const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
child.stdin.end(queries.join('\n') + '\n');

let hwm = 0;
let ticks = 0;
function sample() {
    try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
        const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
        ticks = Math.max(ticks, Number(f[11]) + Number(f[12]));
    } catch {
        /* gone */
    }
}
const timer = setInterval(sample, 20);
const deadline = setTimeout(() => child.kill('SIGTERM'), 30 * 60 * 1000); // bounded
const { code, signal } = await new Promise((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
clearInterval(timer);
clearTimeout(deadline);
const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;

const num = (re) => {
    const m = re.exec(err);
    return m ? Number(m[1]) : null;
};
const res = {
    exit: code,
    signal,
    answers: out.split('\n').filter((l) => l.length).length,
    queries: queries.length,
    items: num(/index: (\d+) items/),
    resources_ms: num(/resources (\d+(?:\.\d+)?) ms/),
    build_ms: num(/index build (\d+(?:\.\d+)?) ms/),
    read_build_ms: num(/with reading and JSON decoding (\d+(?:\.\d+)?) ms/),
    engine_rss_mib: num(/RSS (\d+) MiB/),
    runs: num(/queries: (\d+) runs/),
    mean_us: num(/mean (\d+(?:\.\d+)?) us/),
    p50_us: num(/p50 (\d+(?:\.\d+)?) us/),
    p99_us: num(/p99 (\d+(?:\.\d+)?) us/),
    max_us: num(/max (\d+(?:\.\d+)?) us/),
    qps: num(/(\d+) queries\/s on one thread/),
    // CPU time as the engine measures it (clock_gettime): what the work costs even
    // when other processes share the cores and stretch the wall-clock figures.
    cpu_read_build_ms: num(/reading and index build (\d+) ms of CPU/),
    cpu_reader_ms: num(/(\d+) ms of it on the reading thread/),
    cpu_query_us: num(/queries (\d+(?:\.\d+)?) us of CPU each/),
    cpu_qps: num(/(\d+) queries per CPU second/),
    hwm_kib: hwm,
    wall_ms: Math.round(wallMs),
    cpu_s: ticks / HZ,
    stderr: err.trim().split('\n').slice(-4),
};
console.log(JSON.stringify(res));
process.exit(code === 0 && res.qps !== null ? 0 : 1);
