// `isle similarity` end to end (issue 7 part 3, document similarity): two bid texts
// that share a rare passage are reported with the passage side by side and its
// offsets; a pair sharing only the tender's boilerplate is not; docx and text mix;
// a corrupt PDF is refused with a clear message and a non-zero exit while the other
// documents are still compared; bad arguments are usage errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';

import { makeTempDir, runIsle, runIsleOk } from './server.mjs';

const dir = makeTempDir('isle-similarity-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name, text) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

// Deterministic filler text from a seed (CJK ideographs with punctuation).
function filler(seed, n) {
  let s = seed >>> 0 || 1;
  let out = '';
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out += String.fromCodePoint(0x4e00 + (s % 3000));
    if (s % 23 === 0) out += '，';
    if (s % 41 === 0) out += '。\n';
  }
  return out;
}

const tender = '本工程为舟山市定海区道路改造工程，投标人须具备市政公用工程施工总承包三级及以上资质，' +
  '并在人员、设备、资金等方面具有相应的施工能力。投标文件应当对招标文件提出的实质性要求和条件作出响应。\n';
const rare = '夜间施工期间在东港路口设置临时导流栏杆七十二组，由王建国同志负责每日巡查并填写记录表。';

const tenderDoc = file('tender.txt', tender);
const a = file('a.txt', tender + filler(11, 300) + rare + filler(12, 200));
const b = file('b.txt', filler(21, 250) + rare + tender + filler(22, 300));
const c = file('c.txt', tender + filler(31, 500));

test('similarity: a shared rare passage is reported side by side; tender boilerplate is not', () => {
  const r = runIsleOk(['similarity', a, b, c, '--tender-doc', tenderDoc, '--json']);
  const out = JSON.parse(r.stdout);
  assert.equal(out.documents, 3);
  assert.equal(out.pairs.length, 1, JSON.stringify(out.pairs.map((p) => [p.a_doc, p.b_doc])));
  const p = out.pairs[0];
  assert.deepEqual([path.basename(p.a_doc), path.basename(p.b_doc)], ['a.txt', 'b.txt']);
  assert.ok(p.similarity > 0 && p.similarity <= 1);
  const x = p.passages[0];
  assert.equal(x.a_text, rare.slice(0, -1)); // the closing 。 is punctuation, not matched
  assert.equal(x.b_text, x.a_text);
  const aText = fs.readFileSync(a, 'utf8');
  const bText = fs.readFileSync(b, 'utf8');
  assert.equal(x.a_offset, [...aText.slice(0, aText.indexOf(rare))].length);
  assert.equal(x.b_offset, [...bText.slice(0, bText.indexOf(rare))].length);
  assert.ok(x.weight > 0);
  // No passage anywhere quotes the tender's text.
  for (const q of p.passages) assert.ok(!q.a_text.includes('市政公用工程'));

  // Text output: both sides printed, one under the other, with offsets.
  const t = runIsleOk(['similarity', a, b, c, '--tender-doc', tenderDoc]);
  assert.match(t.stdout, /a\.txt <-> .*b\.txt/);
  assert.match(t.stdout, /A@\d+\s+\| 夜间施工期间/);
  assert.match(t.stdout, /B@\d+\s+\| 夜间施工期间/);
  assert.doesNotMatch(t.stdout, /c\.txt/);
});

test('similarity: without the tender document the boilerplate pair shows up', () => {
  const r = runIsleOk(['similarity', a, c, '--json', '--threshold', '0.01']);
  const out = JSON.parse(r.stdout);
  assert.equal(out.pairs.length, 1);
  assert.ok(out.pairs[0].passages[0].a_text.includes('市政公用工程'));
});

test('similarity: a corrupt PDF is refused clearly, the rest still compared', () => {
  const bad = file('bad.pdf', '%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage');
  const doc = file('old.doc', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]));
  const r = runIsle(['similarity', a, bad, b, doc, '--tender-doc', tenderDoc, '--json']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.pdf: PDF 文件损坏/);
  assert.match(r.stderr, /old\.doc: 旧版 Office 文档/);
  const out = JSON.parse(r.stdout);
  assert.equal(out.documents, 2);
  assert.equal(out.pairs.length, 1);
});

test('similarity: usage errors', () => {
  assert.equal(runIsle(['similarity', a]).status, 2);
  assert.equal(runIsle(['similarity', a, b, '--threshold', '2']).status, 2);
  assert.equal(runIsle(['similarity', a, b, '--bogus']).status, 2);
  const m = runIsle(['similarity', a, path.join(dir, 'missing.txt')]);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /missing\.txt: 无法打开文档/);
});

test('similarity: --list reads paths from a file', () => {
  const list = file('list.txt', [a, b, c].join('\n') + '\n');
  const r = runIsleOk(['similarity', '--list', list, '--tender-doc', tenderDoc, '--json']);
  assert.equal(JSON.parse(r.stdout).pairs.length, 1);
});
