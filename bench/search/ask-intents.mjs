#!/usr/bin/env node
// bench/search/ask-intents.mjs: run `isle ask --json QUESTION` for every query of a
// query set and print "query<TAB>intent" per query (empty intent when the command
// fails or its JSON has none). One isle process per question, each with a time limit.
//   ask-intents.mjs --isle BIN --db FILE --queries FILE
import { spawnSync } from 'node:child_process';
import { readQueries, parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
if (!args.isle || !args.db || !args.queries) {
    console.error('usage: ask-intents.mjs --isle BIN --db FILE --queries FILE');
    process.exit(2);
}
let failures = 0;
const out = [];
for (const r of readQueries(args.queries)) {
    const p = spawnSync(args.isle, ['--db', args.db, 'ask', '--json', r.query], {
        encoding: 'utf8',
        timeout: 10000,
        maxBuffer: 1 << 24,
    });
    let intent = '';
    let item = '';
    if (p.status === 0) {
        try {
            const j = JSON.parse(p.stdout);
            intent = typeof j.intent === 'string' ? j.intent : '';
            item = typeof j.item === 'string' ? j.item : '';
        } catch {
            failures++;
        }
    } else failures++;
    out.push(`${r.query}\t${intent}\t${item}`);
}
process.stdout.write(out.join('\n') + '\n');
if (failures) console.error(`ask-intents: ${failures} questions without a JSON answer`);
