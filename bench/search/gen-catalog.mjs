#!/usr/bin/env node
// bench/search/gen-catalog.mjs: a province-scale service catalog generated from the
// reference items, for bench/search.sh.
//
//   gen-catalog.mjs --items REF.jsonl --count N --out DIR [--seed S] [--chunk-bytes B]
//                   [--towns data/zhoushan/towns.csv]
//
// Writes DIR/items-00.jsonl, items-01.jsonl, … (each at most B bytes, default 48 MiB,
// below `isle import catalog`'s 64 MiB file limit) holding N items in all: the reference
// items unchanged, then variants of them as Zhejiang's 11 cities and 90 counties would
// publish the same 事项 in their own 实施清单:
//   - department: the reference department moved to the variant's city / county / town
//     (舟山市公安局 -> 湖州市公安局, 舟山市定海区民政局 -> 金华市婺城区民政局,
//     岱山县高亭镇人民政府 -> 桐庐县分水镇人民政府 …), the same in place, and the
//     phone's area code;
//   - name: mostly the reference name; otherwise with the county as a prefix
//     (西湖区出生登记), a town as a suffix (出生登记（三墩镇）) or a handling-mode suffix
//     (…（承诺件）);
//   - code: AREA-DEPT-NNNNNN, unique; AREA stays one of the five area codes that
//     isle's validator accepts (spread evenly), DEPT the reference's.
// Every other field is the reference item's, so each line passes the same validation.
// Deterministic for a given seed. Prints a one-line summary to stderr.
import { mkdirSync, openSync, writeSync, closeSync, readdirSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { readItems, parseArgs } from './common.mjs';

const args = parseArgs(process.argv.slice(2));
if (!args.items || !args.count || !args.out) {
    console.error('usage: gen-catalog.mjs --items REF.jsonl --count N --out DIR [--seed S] [--chunk-bytes B]');
    process.exit(2);
}
const COUNT = Number(args.count);
const CHUNK = Number(args['chunk-bytes'] || 48 * 1024 * 1024);
let seed = Number(args.seed || 20261128) >>> 0;

// mulberry32: small deterministic PRNG.
function rand() {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];

// Zhejiang: cities with their phone area codes and county-level divisions.
const CITIES = [
    ['杭州市', '0571', '上城区 拱墅区 西湖区 滨江区 萧山区 余杭区 临平区 钱塘区 富阳区 临安区 桐庐县 淳安县 建德市'],
    ['宁波市', '0574', '海曙区 江北区 北仑区 镇海区 鄞州区 奉化区 余姚市 慈溪市 象山县 宁海县'],
    ['温州市', '0577', '鹿城区 龙湾区 瓯海区 洞头区 永嘉县 平阳县 苍南县 文成县 泰顺县 瑞安市 乐清市 龙港市'],
    ['嘉兴市', '0573', '南湖区 秀洲区 嘉善县 海盐县 海宁市 平湖市 桐乡市'],
    ['湖州市', '0572', '吴兴区 南浔区 德清县 长兴县 安吉县'],
    ['绍兴市', '0575', '越城区 柯桥区 上虞区 新昌县 诸暨市 嵊州市'],
    ['金华市', '0579', '婺城区 金东区 武义县 浦江县 磐安县 兰溪市 义乌市 东阳市 永康市'],
    ['衢州市', '0570', '柯城区 衢江区 常山县 开化县 龙游县 江山市'],
    ['舟山市', '0580', '定海区 普陀区 岱山县 嵊泗县'],
    ['台州市', '0576', '椒江区 黄岩区 路桥区 三门县 天台县 仙居县 温岭市 临海市 玉环市'],
    ['丽水市', '0578', '莲都区 青田县 缙云县 遂昌县 松阳县 云和县 庆元县 景宁畲族自治县 龙泉市'],
].map(([city, tel, counties]) => ({ city, tel, counties: counties.split(' ') }));

// Town names: syllables common in Zhejiang place names, two per town.
const SYL = ('东 西 南 北 新 大 小 石 山 河 桥 浦 塘 湖 溪 港 岙 坑 峰 云 安 平 宁 兴 和 化 龙 凤 金 玉 白 ' +
    '青 清 黄 长 高 沙 桃 花 梅 竹 松 柏 马 鹤 城 关 口 仙 霞 岭 泉 潭 渡 埠 洋 田 湾 洲 岩 源 里 庄 ' +
    '林 陈 王 徐 周 钱 孙 杨 潘 葛 乾 坤 瓶 窑 良 渚 塘 栖 分 水 富 春 临 江 瓜 沥 义 蓬 衙 前').split(/\s+/);
const TOWN_KINDS = ['镇', '镇', '镇', '街道', '街道', '乡'];
const towns = new Map(); // county -> [town names]
function townsOf(county) {
    let t = towns.get(county);
    if (!t) {
        const set = new Set();
        for (let i = 0; set.size < 12 && i < 200; i++) set.add(pick(SYL) + pick(SYL) + pick(TOWN_KINDS));
        t = [...set];
        towns.set(county, t);
    }
    return t;
}

// The reference catalog's own places, replaced by the variant's.
const ZS_COUNTIES = ['定海区', '普陀区', '岱山县', '嵊泗县'];
const ZS_TOWNS = [];
const SUFFIXES = ['（承诺件）', '（即办件）', '（全程网办）', '（窗口办理）', '（帮办代办）', '（跨省通办）'];
const AREAS = ['330900', '330902', '330903', '330921', '330922'];

function relocate(text, v, refTown) {
    if (typeof text !== 'string') return text;
    let s = text;
    if (refTown) s = s.split(refTown).join(v.town);
    for (const t of ZS_TOWNS) if (s.includes(t)) s = s.split(t).join(v.town);
    for (const c of ZS_COUNTIES) {
        s = s.split(`舟山市${c}`).join(`${v.city}${v.county}`);
        s = s.split(c).join(v.county);
        s = s.split(c.slice(0, 2)).join(v.county.slice(0, 2));
    }
    s = s.split('舟山市').join(v.city).split('舟山').join(v.city.slice(0, 2));
    return s;
}

const ref = readItems(args.items);
// Zhoushan's towns (data/zhoushan/towns.csv, column "name"; --towns FILE) and the towns
// named in the reference departments (…镇人民政府, …街道办事处).
const townsCsv = args.towns || new URL('../../data/zhoushan/towns.csv', import.meta.url).pathname;
if (existsSync(townsCsv)) {
    const [head, ...rows] = readFileSync(townsCsv, 'utf8').split('\n').filter(Boolean);
    const k = head.split(',').indexOf('name');
    for (const r of rows) {
        const t = r.split(',')[k];
        if (k >= 0 && t && !ZS_TOWNS.includes(t)) ZS_TOWNS.push(t);
    }
}
for (const it of ref) {
    const m = /(?:[区县])?([^市区县]{2,4}(?:镇|乡|街道))(?:人民政府|办事处)/u.exec(it.department);
    if (m && !ZS_TOWNS.includes(m[1])) ZS_TOWNS.push(m[1]);
}
ZS_TOWNS.sort((a, b) => b.length - a.length);

mkdirSync(args.out, { recursive: true });
for (const f of readdirSync(args.out)) if (/^items-\d+\.jsonl$/.test(f)) rmSync(join(args.out, f));

const used = new Set(ref.map((it) => it.code));
const next = new Map(); // AREA-DEPT -> next number to try
function newCode(dept) {
    const area = AREAS[Math.floor(rand() * AREAS.length)];
    const key = `${area}-${dept}`;
    let n = next.get(key) || 100000;
    let code;
    do {
        code = `${key}-${String(n).padStart(6, '0')}`;
        n++;
    } while (used.has(code));
    if (n > 999999) throw new Error(`codes exhausted for ${key}`);
    next.set(key, n);
    used.add(code);
    return code;
}

let fileNo = 0;
let fd = -1;
let bytes = 0;
let files = 0;
function emit(item) {
    const line = JSON.stringify(item) + '\n';
    const len = Buffer.byteLength(line);
    if (fd < 0 || bytes + len > CHUNK) {
        if (fd >= 0) closeSync(fd);
        fd = openSync(join(args.out, `items-${String(fileNo++).padStart(2, '0')}.jsonl`), 'w');
        bytes = 0;
        files++;
    }
    writeSync(fd, line);
    bytes += len;
}

let written = 0;
for (const it of ref) {
    if (written >= COUNT) break;
    emit(it);
    written++;
}
const nameKinds = { same: 0, county: 0, town: 0, suffix: 0 };
while (written < COUNT) {
    const base = ref[Math.floor(rand() * ref.length)];
    const c = pick(CITIES);
    const county = pick(c.counties);
    const v = { city: c.city, county, town: pick(townsOf(county)) };
    const refTown = ZS_TOWNS.find((t) => base.department.includes(t) || base.name.includes(t));
    const it = structuredClone(base);
    it.code = newCode(base.code.split('-')[1]);
    it.department = relocate(base.department, v, refTown);
    it.place = relocate(base.place, v, refTown);
    it.phone = base.phone.replace(/^0580/, c.tel);
    let name = relocate(base.name, v, refTown);
    const r = rand();
    if (r < 0.45) nameKinds.same++;
    else if (r < 0.65) {
        name = `${county}${name}`;
        nameKinds.county++;
    } else if (r < 0.85) {
        name = `${name}（${v.town}）`;
        nameKinds.town++;
    } else {
        name = `${name}${pick(SUFFIXES)}`;
        nameKinds.suffix++;
    }
    it.name = name;
    emit(it);
    written++;
}
if (fd >= 0) closeSync(fd);
console.error(
    `gen-catalog: ${written} items (${Math.min(ref.length, COUNT)} reference + ${written - Math.min(ref.length, COUNT)} variants: ` +
        `names same ${nameKinds.same}, county prefix ${nameKinds.county}, town suffix ${nameKinds.town}, ` +
        `mode suffix ${nameKinds.suffix}) in ${files} file(s) under ${args.out}`,
);
