// Shared by the browser tests: a Chromium kept on 127.0.0.1, contexts that record every
// request and script error, login, axe-core and screenshots.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const BASE_URL = (process.env.BASE_URL || '').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '';
export const NAV_TIMEOUT = 30_000;
export const TEST_TIMEOUT = 180_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost']);

export const PASSWORD = 'linli2026';
export const RESIDENT_PHONE = '13900000006';
export const STAFF_PHONE = '13900000001';

// Flags that keep Chromium off the network and quiet in a sandbox. Playwright adds
// --headless itself and gives every launch a fresh temporary --user-data-dir.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Whatever happens, a test file ends within 10 minutes.
setTimeout(() => {
  console.error(`${process.argv[1]}: still running after 10 minutes, giving up`);
  process.exit(1);
}, 10 * 60_000).unref();

let browser;
const contexts = [];
export const requests = [];      // every URL any page asked for
export const foreign = [];       // those that left 127.0.0.1
export const scriptErrors = [];  // uncaught exceptions and CSP violations

/** A new browser context that records where its pages go and what breaks in them. */
export async function newContext(label, options) {
  const context = await browser.newContext({ locale: 'zh-CN', ...options });
  context.setDefaultNavigationTimeout(NAV_TIMEOUT);
  context.setDefaultTimeout(NAV_TIMEOUT);
  context.on('request', (request) => {
    const url = request.url();
    requests.push(url);
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      foreign.push(`${label}: unparsable URL ${url}`);
      return;
    }
    if (['data:', 'blob:', 'about:'].includes(parsed.protocol)) return;
    if (!LOCAL_HOSTS.has(parsed.hostname)) foreign.push(`${label}: ${request.method()} ${url}`);
  });
  context.on('page', (page) => watchPage(label, page));
  contexts.push(context);
  return context;
}

function watchPage(label, page) {
  page.on('pageerror', (error) => scriptErrors.push(`${label} ${page.url()}: uncaught ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && /Content Security Policy/i.test(text)) {
      scriptErrors.push(`${label} ${page.url()}: ${text}`);
    }
  });
}

/** Fails with one readable line per offender when the list is not empty. */
export function assertNone(list, title) {
  if (list.length) assert.fail(`${title} (${list.length}):\n  ${list.join('\n  ')}`);
}

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Opens a page of the app and checks that it answered (not an error page). */
export async function open(page, path) {
  const response = await page.goto(BASE_URL + path, { waitUntil: 'load', timeout: NAV_TIMEOUT });
  assert.ok(response, `no response for ${path}`);
  assert.ok(response.status() < 400, `GET ${path} answered ${response.status()}`);
  return response;
}

/** Logs in with the password form; returns the path it landed on. */
export async function login(page, phone) {
  await open(page, '/login');
  await page.fill('#phone', phone);
  await page.fill('#password', PASSWORD);
  const button = page.locator('form[action="/login"] button[type="submit"], form[action="/login"] button:not([type])').first();
  await Promise.all([
    page.waitForURL((url) => url.pathname !== '/login', { timeout: NAV_TIMEOUT, waitUntil: 'load' }).catch(() => {}),
    button.click(),
  ]);
  await page.waitForLoadState('load');
  if (pathOf(page) === '/login') {
    const alert = await page.locator('[role=alert]').allInnerTexts().catch(() => []);
    assert.fail(`login as ${phone} stayed on /login${alert.length ? `: ${alert.join(' / ')}` : ''}`);
  }
  return pathOf(page);
}

/** Runs axe-core (WCAG 2.1 A and AA) and fails on serious or critical violations. */
export async function assertAccessible(page, label) {
  // page.addScriptTag would insert an inline <script>, which the app's own
  // Content-Security-Policy (script-src 'self') rightly blocks; evaluating the source through
  // the DevTools protocol is not subject to it, so the CSP stays on while axe runs.
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: tags }), AXE_TAGS);
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = [`axe found ${bad.length} serious/critical violation(s) on ${label} (${page.url()}):`];
    for (const v of bad) {
      lines.push(`  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
      for (const node of v.nodes.slice(0, 6)) {
        lines.push(`      at ${node.target.join(' ')}`);
        lines.push(`         ${node.html.slice(0, 160).replace(/\s+/g, ' ')}`);
        if (node.failureSummary) lines.push(`         ${node.failureSummary.replace(/\s+/g, ' ').slice(0, 300)}`);
      }
      if (v.nodes.length > 6) lines.push(`      … and ${v.nodes.length - 6} more`);
    }
    assert.fail(lines.join('\n'));
  }
}

export async function screenshot(page, name) {
  if (!SCREENSHOT_DIR) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), fullPage: true });
}

before(async () => {
  assert.ok(BASE_URL, 'set BASE_URL, e.g. BASE_URL=http://127.0.0.1:8080');
  const host = new URL(BASE_URL).hostname;
  assert.ok(LOCAL_HOSTS.has(host), `BASE_URL must point at 127.0.0.1 (got ${host})`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
});

/** A small PNG photo (solid colour with a stripe), made here so the test needs no files. */
export function pngPhoto(width = 96, height = 64, rgb = [60, 120, 200]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push(...(y > height / 3 && y < height / 2 ? [240, 240, 240] : rgb));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
