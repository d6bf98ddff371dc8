// Starts a real `isle` server for the browser tests: a temp directory with a fresh
// database (init + demo data), `serve` on a free 127.0.0.1 port, readiness via
// GET /healthz. stop() kills it and removes the directory.
//
//   const srv = await startServer();  srv.url → "http://127.0.0.1:PORT"
//   await srv.stop();
//
// The binary is $ISLE_BIN or build/isle (relative to the repository root).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function isleBin() {
  const bin = process.env.ISLE_BIN || 'build/isle';
  return path.isAbsolute(bin) ? bin : path.resolve(ROOT, bin);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startServer({ timeoutMs = 20000 } = {}) {
  const bin = isleBin();
  if (!existsSync(bin)) throw new Error(`isle binary not found at ${bin} (run \`make build\` or set ISLE_BIN)`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'isle-web-'));
  const db = path.join(dir, 'isle.db');
  const env = { ...process.env, ISLE_ARGON2_FAST: '1' };
  const run = async (...args) => {
    try {
      await execFileP(bin, ['--db', db, ...args], { cwd: ROOT, env, timeout: 120000 });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`\`isle ${args.join(' ')}\` failed: ${e.message}\n${e.stderr || ''}`);
    }
  };
  await run('init');
  await run('demo');

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (b) => {
    log += b.toString();
    if (log.length > 200000) log = log.slice(-100000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exitP = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitP;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`isle serve exited early (${JSON.stringify(exited)}):\n${log}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`isle serve did not answer /healthz within ${timeoutMs} ms:\n${log}`);
    }
    await sleep(100);
  }
  return { url, dir, db, stop, log: () => log };
}

/** Headless Chromium as the project runs it everywhere (Debian's chromium via
 *  playwright-core; the flags keep it off the network this machine does not have). */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/** A fresh context + page collecting console errors, page errors and CSP
 *  violations (API 4xx "Failed to load resource" lines are expected). */
export async function openPage(browser, t, { viewport = { width: 1280, height: 900 }, elder = false } = {}) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.addInitScript((on) => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    if (on) localStorage.setItem('isle.elder', '1');
  }, elder);
  t.after(async () => {
    await context.close();
  });
  return {
    page,
    context,
    async assertClean() {
      assert.deepEqual(problems, [], 'no console errors or page errors');
      assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violations');
    },
  };
}

/** The demo users' password (`isle demo`). */
export const DEMO_PASSWORD = 'Zhoushan@2026';

/** Log in through the login form as `who` and wait for the header to name the user
 *  (`#who-name` is attached even where the phone menu hides it; visible: wait until shown). */
export async function loginAs(page, url, who, { password = DEMO_PASSWORD, visible = false } = {}) {
  await page.goto(`${url}/login`);
  await page.locator('#login-form input[name=login]').fill(who);
  await page.locator('#login-form input[name=password]').fill(password);
  await page.locator('#login-form button[type=submit]').click();
  await page.locator('#who-name').waitFor({ state: visible ? 'visible' : 'attached' });
}
