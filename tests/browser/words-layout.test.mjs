// Words and layout on a phone, in Chinese and English, in elder mode and without it.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/words-layout.test.mjs
//
// On a 390×844 phone, for the pages people use most (home, the report form, 我的反映, a report's
// page, messages and one message, login, the public ledger, the error page, the console queue and
// the outbox), it checks:
//   a. elder mode: no visible text is smaller than 18px, buttons and fields are at least 60px
//      tall and check boxes large; without it, no text is smaller than 14px;
//   b. the page never scrolls sideways, and axe-core finds no serious or critical violation;
//   c. no code (`case_rate`, `first_response` …) is shown; in Chinese the page's chrome (header,
//      navigation, footer, buttons, labels, table heads) has no English word, in English no Chinese;
//   d. opening a message, or following its link, marks it read — without JavaScript.
// The assertions are general (computed sizes, widths, kinds of characters), not tied to wording.
// Every preference a test changes (elder mode, language) is put back at the end.
// Environment: BASE_URL (required), CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR (optional).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, NAV_TIMEOUT, PASSWORD, RESIDENT_PHONE, TEST_TIMEOUT, assertAccessible, assertNone, foreign, login, newContext, open, pathOf,
  screenshot, scriptErrors,
} from './lib.mjs';

const SLUG = 'nanjing-renjia';
const ADMIN_PHONE = '13900000000';
const GRID_WORKER_PHONE = '13900000002'; // 刘建军, 第一网格 (翠微新村 1–8栋)
const FAMILY_PHONE = '13900000007';
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
// ASCII words a Chinese page may show: names of file formats and the like.
const ASCII_ALLOWED = new Set(['CSV', 'Excel', 'UTF', 'JSON', 'xlsx', 'csv', 'ID', 'QR', 'Open311', 'API', 'PDF', 'SMS']);

/** Everything this file checks about the page in view, measured in the page. */
function measure([lang, allowed]) {
  const ASCII_ALLOWED = new Set(allowed); // runs in the page: the list is passed in
  const visible = (el) => {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || Number(style.opacity) === 0) return false;
    const rect = el.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0 && rect.right > 0;
  };
  const describeEl = (el, extra) => {
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    return `<${el.tagName.toLowerCase()}${cls}> ${extra} "${(el.innerText || el.value || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40)}"`;
  };
  // a. the size of every visible piece of text (graphics and text hidden for screen readers aside)
  const fonts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || el.closest('svg, script, style, noscript, template, .sr-only, [aria-hidden=true]')) continue;
    if (!visible(el)) continue;
    fonts.push({ size: parseFloat(getComputedStyle(el).fontSize), what: describeEl(el, '') });
  }
  for (const el of document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), select, textarea')) {
    if (visible(el)) fonts.push({ size: parseFloat(getComputedStyle(el).fontSize), what: describeEl(el, '') });
  }
  const minFont = Math.min(...fonts.map((f) => f.size));
  // Targets: what a finger presses, apart from links inside running text.
  const targets = [];
  for (const el of document.querySelectorAll(':is(header, nav, main, footer) :is(button, .button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, summary, label.check), nav a, header a')) {
    if (visible(el)) targets.push({ h: el.getBoundingClientRect().height, what: describeEl(el, '') });
  }
  const boxes = [];
  for (const el of document.querySelectorAll('main input:is([type=checkbox], [type=radio])')) {
    if (visible(el)) boxes.push({ h: el.getBoundingClientRect().height, what: describeEl(el.closest('label') || el, el.type) });
  }
  // b. sideways scrolling
  const overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  // c. codes anywhere; the wrong language in the chrome
  const text = document.body.innerText;
  const codes = [...new Set(text.match(/\b[a-z]+(?:_[a-z0-9]+)+\b/g) || [])];
  const chrome = [...document.querySelectorAll('header.top, nav, footer, button, .button, th, legend, summary, label, .hint')]
    .filter(visible);
  const wrong = [];
  for (const el of chrome) {
    // A part in another language says so (the language switch says 中文 / English in its own).
    const clone = el.cloneNode(true);
    for (const other of clone.querySelectorAll('[lang]')) other.remove();
    if (el.closest('[lang]') !== document.documentElement && el.closest('[lang]')) continue;
    // The signed-in person's own name is theirs, in whatever script.
    for (const own of clone.querySelectorAll('a[href="/me"]')) own.remove();
    if (el.matches('header.top a[href="/me"]')) continue;
    const words = clone.textContent.replace(/\s+/g, ' ').trim();
    if (lang === 'zh') {
      const ascii = (words.match(/[A-Za-z]{2,}/g) || []).filter((w) => !ASCII_ALLOWED.has(w));
      if (ascii.length) wrong.push(describeEl(el, `English ${JSON.stringify(ascii)}`));
    } else if (/[\u4e00-\u9fff，。？！：；（）]/.test(words)) {
      wrong.push(describeEl(el, 'Chinese'));
    }
  }
  return {
    lang: document.documentElement.lang,
    elder: document.body.classList.contains('elder'),
    minFont,
    fonts,
    targets,
    boxes,
    overflow,
    codes,
    wrong: [...new Set(wrong)],
  };
}

/**
 * Opens `path` (unless `stay`) and checks sizes, width, words and accessibility for the language
 * and mode the page is in.
 */
async function checkPage(page, path, { lang, elder, label, stay = false, status = 200 }) {
  if (!stay) {
    const response = await page.goto(BASE_URL + path, { waitUntil: 'load', timeout: NAV_TIMEOUT });
    assert.equal(response.status(), status, `GET ${path} answered ${response.status()}`);
  }
  const where = `${label} ${pathOf(page)} (${lang}${elder ? ', elder mode' : ''}, 390×844)`;
  const m = await page.evaluate(measure, [lang, [...ASCII_ALLOWED]]);
  assert.equal(m.lang.slice(0, 2), lang, `${where}: <html lang="${m.lang}">`);
  assert.ok(m.fonts.length > 0, `${where}: no visible text`);
  const floor = elder ? 18 : 14;
  assertNone(
    m.fonts.filter((f) => f.size < floor - 0.01).map((f) => `${f.size}px ${f.what}`),
    `${where}: text smaller than ${floor}px`,
  );
  if (elder) {
    assert.ok(m.elder, `${where}: elder mode is off`);
    assertNone(m.targets.filter((t) => t.h < 59.5).map((t) => `${t.h.toFixed(1)}px ${t.what}`), `${where}: targets shorter than 60px`);
    assertNone(m.boxes.filter((b) => b.h < 24).map((b) => `${b.h.toFixed(1)}px ${b.what}`), `${where}: check boxes and radio buttons smaller than 24px`);
  }
  assert.ok(m.overflow <= 1, `${where}: the page scrolls sideways by ${m.overflow}px`);
  assertNone(m.codes, `${where}: codes shown to a person`);
  assertNone(m.wrong, `${where}: ${lang === 'zh' ? 'English' : 'Chinese'} in the page's chrome`);
  await assertAccessible(page, where);
  return m;
}

/** Submits the footer's preference form with the button `selector` unless `done()` already holds. */
async function setPref(page, selector, done) {
  if (await page.evaluate(done)) return;
  const button = page.locator(selector);
  assert.equal(await button.count(), 1, `no ${selector} on ${pathOf(page)}`);
  await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), button.click()]);
  await page.waitForLoadState('load');
  assert.ok(await page.evaluate(done), `${selector} did not take effect on ${pathOf(page)}`);
}

const isElder = () => document.body.classList.contains('elder');
const isPlain = () => !document.body.classList.contains('elder');
const setElder = (page, on) =>
  setPref(page, `form[action="/prefs/elder"] button[name=on][value="${on ? 1 : 0}"]`, on ? isElder : isPlain);
const setLang = (page, lang) =>
  setPref(page, `form[action="/prefs/lang"] button[name=lang][value="${lang === 'en' ? 'en' : 'zh-CN'}"]`,
    lang === 'en' ? () => document.documentElement.lang === 'en' : () => document.documentElement.lang.startsWith('zh'));

/** A signed-in person on a phone whose preferences are put back afterwards. */
async function person(label, phone, options = {}) {
  const context = await newContext(label, { ...PHONE, ...options });
  const page = await context.newPage();
  await login(page, phone);
  const was = await page.evaluate(() => ({ elder: document.body.classList.contains('elder'), lang: document.documentElement.lang }));
  return {
    page,
    async restore() {
      await open(page, '/');
      await setElder(page, was.elder);
      await setLang(page, was.lang.startsWith('zh') ? 'zh' : 'en');
    },
  };
}

let caseId = 0;

describe('a resident on a phone', () => {
  let resident;
  before(async () => {
    resident = await person('resident', RESIDENT_PHONE);
  });
  after(async () => resident && resident.restore().catch(() => {}));

  // Two reports of her own, filed through the API: a report page to look at, and two messages
  // for the grid worker of the building.
  it('files two reports in the first grid', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = resident;
    await open(page, '/');
    const admin = await newContext('admin-lookup');
    const res = await admin.request.post(`${BASE_URL}/api/v1/auth/login`, { data: { phone: ADMIN_PHONE, password: PASSWORD } });
    assert.equal(res.status(), 200, 'the administrator logs in through the API');
    const buildings = await (await admin.request.get(`${BASE_URL}/api/v1/communities/${SLUG}/buildings?limit=100`)).json();
    const home = buildings.find((b) => b.grid_name === '第一网格');
    assert.ok(home, 'a building of the first grid');
    // The last one carries a long unbroken run, as a pasted link or a row of 哈 is: the pages
    // that show it must still not scroll sideways.
    for (const text of ['楼道的扶手松了，老人上下楼不安全', `单元门口的台阶缺了一块，雨天容易滑倒。照片：https://pan.example/s/${'x'.repeat(240)} ${'哈'.repeat(120)}`]) {
      const filed = await page.request.post(`${BASE_URL}/api/v1/communities/${SLUG}/cases`, { data: { text, building_id: home.id } });
      assert.ok(filed.status() < 300, `filing answered ${filed.status()}: ${await filed.text()}`);
      caseId = (await filed.json()).id;
      assert.ok(caseId > 0);
    }
  });

  for (const elder of [true, false]) {
    it(`${elder ? 'elder mode' : 'standard text'}: home, report form, 我的反映, a report, messages, ledger`, { timeout: TEST_TIMEOUT }, async () => {
      const { page } = resident;
      await open(page, '/');
      await setElder(page, elder);
      // /me/data holds the resident's full ID number: long values must wrap, not widen the page.
      const paths = ['/', '/cases/new', '/me/cases', '/me', '/me/data', '/me/notifications', `/ledger/${SLUG}`];
      if (caseId) paths.splice(3, 0, `/cases/${caseId}`);
      for (const path of paths) await checkPage(page, path, { lang: 'zh', elder, label: 'resident' });
      if (elder) await screenshot(page, 'words-ledger-elder.png');
    });
  }
});

describe('a visitor on a phone', () => {
  let page;
  before(async () => {
    page = await (await newContext('visitor', PHONE)).newPage();
  });

  it('login, the ledger and the error page in Chinese and English, with and without elder mode', { timeout: TEST_TIMEOUT }, async () => {
    for (const lang of ['zh', 'en']) {
      await open(page, '/login');
      await setLang(page, lang);
      for (const elder of [true, false]) {
        await open(page, '/login');
        await setElder(page, elder);
        for (const path of ['/login', '/', `/ledger/${SLUG}`, '/cases/new']) {
          await checkPage(page, path, { lang, elder, label: 'visitor' });
        }
        // The error page keeps the visitor's language and elder mode.
        await checkPage(page, '/no-such-page', { lang, elder, label: 'visitor', status: 404 });
      }
    }
    await screenshot(page, 'words-error-en.png');
  });
});

describe('English on a phone', () => {
  let family;
  before(async () => {
    family = await person('family', FAMILY_PHONE);
  });
  after(async () => family && family.restore().catch(() => {}));

  it('a signed-in person reading in English sees no Chinese in the chrome', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = family;
    await open(page, '/');
    await setLang(page, 'en');
    for (const elder of [false, true]) {
      await open(page, '/');
      await setElder(page, elder);
      for (const path of ['/', '/me', '/me/data', '/me/cases', '/me/notifications', '/cases/new']) {
        await checkPage(page, path, { lang: 'en', elder, label: 'family' });
      }
    }
  });
});

describe('messages', () => {
  let worker;
  before(async () => {
    worker = await person('grid-worker', GRID_WORKER_PHONE);
  });
  after(async () => worker && worker.restore().catch(() => {}));

  it('opening a message, or following its link, marks it read', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!caseId) return t.skip('no report was filed');
    const { page } = worker;
    await setElder(page, false);
    const unread = async () => {
      await open(page, '/me/notifications');
      return page.locator('ul.messages li.unread').count();
    };
    // The report filed above reaches the grid worker of its building.
    const before = await unread();
    assert.ok(before >= 2, `the grid worker has unread messages about the new reports (${before})`);
    await checkPage(page, '/me/notifications', { lang: 'zh', elder: false, label: 'grid worker', stay: true });
    // No address is printed: links are named in words.
    const listed = await page.locator('main').innerText();
    assert.ok(!/\/(cases|console|r)\/\S+/.test(listed), `the inbox prints an address: ${listed}`);

    // Open the newest unread message on its own page.
    const first = page.locator('ul.messages li.unread a.message-title').first();
    const title = (await first.innerText()).trim();
    await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), first.click()]);
    assert.match(pathOf(page), /^\/me\/notifications\/\d+$/);
    await checkPage(page, pathOf(page), { lang: 'zh', elder: false, label: 'grid worker', stay: true });
    assert.ok(title.includes((await page.locator('main h1').innerText()).trim()), 'the message opens under its title');
    assert.equal(await unread(), before - 1, 'the opened message is read');

    // Follow another one's link straight from the inbox.
    const action = page.locator('ul.messages li.unread a[href$="/open"]').first();
    await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), action.click()]);
    assert.ok(!pathOf(page).startsWith('/me/notifications'), `the link led to ${pathOf(page)}`);
    assert.equal(await unread(), before - 2, 'the message whose link was followed is read');
    await screenshot(page, 'words-messages.png');
  });
});

describe('the console on a phone', () => {
  let admin;
  before(async () => {
    admin = await person('admin', ADMIN_PHONE);
  });
  after(async () => admin && admin.restore().catch(() => {}));

  it('the queue and the outbox, in Chinese and English, with and without elder mode', { timeout: TEST_TIMEOUT }, async () => {
    const { page } = admin;
    for (const lang of ['zh', 'en']) {
      await open(page, '/console');
      await setLang(page, lang);
      for (const elder of [true, false]) {
        await open(page, '/console');
        await setElder(page, elder);
        for (const path of ['/console', '/console/cases', '/console/outbox?state=sent', '/console/outbox?state=dead']) {
          await checkPage(page, path, { lang, elder, label: 'admin' });
        }
      }
    }
    await screenshot(page, 'words-outbox.png');
  });
});

describe('the pages stay on 127.0.0.1', () => {
  it('no request left 127.0.0.1 and no page broke its Content-Security-Policy', () => {
    assertNone(foreign, 'requests that left 127.0.0.1');
    assertNone(scriptErrors, 'script errors and CSP violations');
  });
});
