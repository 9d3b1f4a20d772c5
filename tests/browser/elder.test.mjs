// End-to-end checks in headless Chromium against a running Linli demo server.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/elder.test.mjs
//
// scripts/test starts `linli demo` and runs this file. It checks:
//   a. a resident on a phone logs in, turns elder mode on, and gets large text and large
//      targets; axe-core finds no serious or critical WCAG 2.1 A/AA violation on /, /me and
//      /me/notifications;
//   b. no page ever asks anything of a host other than 127.0.0.1 (no CDN, no fonts, no
//      analytics), and no page throws a script error or breaks its own Content-Security-Policy;
//   c. a staff member on a desktop opens /console/residents, and axe finds no serious or
//      critical violation there either.
// Environment: BASE_URL (required), CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR
// (optional: screenshots are written there).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  NAV_TIMEOUT, RESIDENT_PHONE, STAFF_PHONE, TEST_TIMEOUT, assertAccessible, assertNone, foreign, login, newContext, open, pathOf,
  requests, screenshot, scriptErrors,
} from './lib.mjs';

describe('a. resident on a phone, elder mode', () => {
  let page;
  let loggedIn = false;
  let elderOn = false;

  before(async () => {
    const context = await newContext('resident', {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    page = await context.newPage();
  });

  it('logs in with phone and password and lands on the home page', { timeout: TEST_TIMEOUT }, async () => {
    const landed = await login(page, RESIDENT_PHONE);
    assert.equal(landed, '/', `after login the resident landed on ${landed}, expected /`);
    assert.ok((await page.locator('h1').count()) >= 1, 'the home page has no <h1>');
    loggedIn = true;
  });

  it('turns elder mode on from the footer', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!loggedIn) return t.skip('login failed');
    // Elder mode is saved per user: on a server this file already ran against, turn it off first.
    if (await page.evaluate(() => document.body.classList.contains('elder'))) {
      const off = page.locator('form[action="/prefs/elder"] button[name="on"][value="0"]');
      if ((await off.count()) === 1) {
        await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), off.click()]);
      }
    }
    const button = page.locator('[data-testid=elder-on]');
    assert.equal(await button.count(), 1, 'no [data-testid=elder-on] button on the home page');
    await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), button.click()]);
    await page.waitForFunction(() => document.body && document.body.classList.contains('elder'), null, {
      timeout: NAV_TIMEOUT,
    }).catch(() => {});
    assert.ok(await page.evaluate(() => document.body.classList.contains('elder')), `<body> has no class "elder" after turning elder mode on (at ${page.url()})`);
    assert.equal(pathOf(page), '/', `turning elder mode on went to ${pathOf(page)}, expected back to /`);
    elderOn = true;
    await screenshot(page, 'elder-home.png');
  });

  it('elder mode: body text in <main> is at least 18px', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!elderOn) return t.skip('elder mode is not on');
    const { checked, small } = await page.evaluate(() => {
      const visible = (el) => {
        const style = getComputedStyle(el);
        const rect = el.getBoundingClientRect();
        return style.display !== 'none' && style.visibility !== 'hidden' && rect.width > 0 && rect.height > 0;
      };
      const elements = [...document.querySelectorAll('main p, main a, main li')].filter(visible);
      const small = elements
        .map((el) => ({ el, size: parseFloat(getComputedStyle(el).fontSize) }))
        .filter(({ size }) => size < 18)
        .map(({ el, size }) => `<${el.tagName.toLowerCase()}${el.className ? ` class="${el.className}"` : ''}> ${size}px "${(el.textContent || '').trim().slice(0, 40)}"`);
      return { checked: elements.length, small };
    });
    assert.ok(checked > 0, 'no visible p, a or li inside <main> on the home page');
    assertNone(small, 'text smaller than 18px in elder mode');
  });

  it('elder mode: every control in header, nav and main is at least 60px tall', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!elderOn) return t.skip('elder mode is not on');
    const { checked, short } = await page.evaluate(() => {
      const controls = [...document.querySelectorAll(':is(main, nav, header) :is(a, button, input, select)')];
      const visible = controls.filter((el) => {
        const style = getComputedStyle(el);
        const rect = el.getBoundingClientRect();
        return style.display !== 'none' && style.visibility !== 'hidden' && rect.width > 0 && rect.height > 0;
      });
      const short = visible
        .map((el) => ({ el, h: el.getBoundingClientRect().height }))
        .filter(({ h }) => h < 59.5)
        .map(({ el, h }) => {
          const where = el.closest('main') ? 'main' : el.closest('nav') ? 'nav' : 'header';
          const what = el.getAttribute('href') || el.getAttribute('name') || el.getAttribute('type') || '';
          return `${where} <${el.tagName.toLowerCase()}${what ? ` ${what}` : ''}> ${h.toFixed(1)}px "${(el.textContent || el.value || '').trim().slice(0, 30)}"`;
        });
      return { checked: visible.length, short };
    });
    assert.ok(checked > 0, 'no visible control in header, nav or main');
    assertNone(short, 'controls shorter than 60px in elder mode');
  });

  for (const path of ['/', '/me', '/me/notifications', '/cases/new', '/me/cases']) {
    it(`elder mode: axe finds no serious or critical violation on ${path}`, { timeout: TEST_TIMEOUT }, async (t) => {
      if (!elderOn) return t.skip('elder mode is not on');
      await open(page, path);
      assert.equal(pathOf(page), path, `GET ${path} ended on ${pathOf(page)}`);
      assert.ok(await page.evaluate(() => document.body.classList.contains('elder')), `elder mode is off again on ${path}`);
      await assertAccessible(page, `${path} (resident, elder mode, 390×844)`);
    });
  }
});

describe('c. staff on a desktop', () => {
  let page;
  let loggedIn = false;

  before(async () => {
    const context = await newContext('staff', { viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });

  it('logs in with phone and password', { timeout: TEST_TIMEOUT }, async () => {
    await login(page, STAFF_PHONE);
    loggedIn = true;
  });

  it('axe finds no serious or critical violation on /console/residents', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!loggedIn) return t.skip('login failed');
    await open(page, '/console/residents');
    assert.equal(pathOf(page), '/console/residents', `GET /console/residents ended on ${pathOf(page)}`);
    await screenshot(page, 'console-residents.png');
    await assertAccessible(page, '/console/residents (staff, 1280×800)');
  });
});

describe('b. the pages stay on 127.0.0.1', () => {
  it('no request went to a host other than 127.0.0.1', () => {
    assert.ok(requests.length > 0, 'no request was recorded at all');
    assertNone(foreign, 'requests that left 127.0.0.1');
  });

  it('no page threw a script error or broke its Content-Security-Policy', () => {
    assertNone(scriptErrors, 'script errors and CSP violations');
  });
});
