// Families, role homes and navigation, end to end on a phone (390×844, Chinese, elder mode),
// in headless Chromium against a running Linli demo server:
//
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/family-journey.test.mjs
//
//   a. 李秀英 reports a problem and staff answer it; her son 张伟 (bound to her in the demo)
//      logs in, sees her report and its progress, files a report for her and sees it too;
//   b. a new binding: the volunteer asks to be bound to 李秀英, she confirms it on her own
//      page, the volunteer sees her, then ends it (so the demo is as it was);
//   c. staff find a resident by the last four digits of her phone, tick a tag, and the phone
//      and ID number stay (the record says what changed);
//   d. the grid worker's navigation has no 导入导出 and every link in it opens;
//   e. the volunteer, merchant and liaison homes say what each can do, the visitor's links the
//      anonymous report and the ledger.
// Every page: axe-core (WCAG 2.1 A/AA) clean and no sideways scrolling.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, NAV_TIMEOUT, RESIDENT_PHONE, STAFF_PHONE, TEST_TIMEOUT, assertAccessible, assertNone, foreign, login, newContext, open, pathOf,
  screenshot, scriptErrors,
} from './lib.mjs';

const SLUG = 'nanjing-renjia';
const SON_PHONE = '13900000007';
const GRID_WORKER_PHONE = '13900000002';
const LIAISON_PHONE = '13900000003';
const VOLUNTEER_PHONE = '13900000004';
const MERCHANT_PHONE = '13900000005';
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
// Unique to this run, so a second run against the same server finds its own reports.
const RUN = Date.now().toString(36).slice(-5);
const HER_REPORT = `楼道扶手松了，下楼不敢扶（${RUN}）`;
const FOR_HER = `我妈家的水龙头一直滴水，关不紧（${RUN}）`;

/** Submits the form `button` belongs to and waits for the page it leads to. */
async function submit(page, button) {
  await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), button.click()]);
  await page.waitForLoadState('load');
}

/** A page checked as every page of this journey is: axe clean, nothing wider than the screen. */
async function check(page, label) {
  await assertAccessible(page, label);
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client + 1, `${label} scrolls sideways: ${scroll} > ${client}`);
}

/** Opens `path` and checks it. */
async function visit(page, path, label) {
  await open(page, path);
  await check(page, `${label ?? path} (${pathOf(page)})`);
}

/** Sets elder mode on or off for the logged-in person (it is saved with their account). */
async function elderMode(page, on) {
  const isOn = await page.evaluate(() => document.body.classList.contains('elder'));
  if (isOn === on) return;
  const button = page.locator(`form[action="/prefs/elder"] button[name="on"][value="${on ? 1 : 0}"]`);
  await submit(page, button);
  assert.equal(await page.evaluate(() => document.body.classList.contains('elder')), on, `elder mode ${on ? 'on' : 'off'}`);
}

async function phonePage(label, phone) {
  const context = await newContext(label, PHONE);
  const page = await context.newPage();
  if (phone) await login(page, phone);
  return page;
}

/** A JSON call in the page's session (JSON bodies need no form token). */
async function api(page, method, path, body) {
  const res = await page.request.fetch(BASE_URL + path, { method, data: body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  assert.ok(res.status() < 300, `${method} ${path} answered ${res.status()}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** The hrefs of the main navigation. */
async function navLinks(page) {
  return page.locator('nav.tabs a').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
}

let herCase = 0;
let herResident = 0;

describe('families, role homes and navigation on a phone', () => {
  it('a. 张伟 sees his mother’s reports and their progress, and reports for her', { timeout: TEST_TIMEOUT }, async () => {
    // She reports; staff answer (through the API: the console's pages have their own test).
    const mother = await phonePage('family-mother', RESIDENT_PHONE);
    herCase = (await api(mother, 'POST', `/api/v1/communities/${SLUG}/cases`, { text: HER_REPORT })).id;
    const staff = await phonePage('family-staff', STAFF_PHONE);
    await api(staff, 'POST', `/api/v1/cases/${herCase}/moves`, { to: 'acknowledged', note: `已联系物业，明天上午来加固扶手（${RUN}）` });

    const son = await phonePage('family-son', SON_PHONE);
    await elderMode(son, true);
    await visit(son, '/', 'the family home');
    assert.equal(await son.locator('[data-role=family]').count(), 1, 'the home has a family section');
    assert.ok((await navLinks(son)).includes('/family'), 'the navigation offers 家人');
    await visit(son, '/me', 'his own page');
    await visit(son, '/me/data', 'his personal data, readable');
    await visit(son, '/family', 'the family page');
    const elder = son.locator('[data-testid=elder]').filter({ hasText: '李秀英' });
    assert.equal(await elder.count(), 1, 'his mother is listed');
    assert.ok((await elder.innerText()).includes(HER_REPORT), 'her report is listed');
    await screenshot(son, 'family-page.png');
    await submit(son, elder.locator(`a[href="/family/cases/${herCase}"]`));
    await check(son, 'her case');
    const progress = await son.locator('[data-testid=progress]').innerText();
    assert.ok(progress.includes('已联系物业'), `the progress she sees: ${progress}`);

    // He reports for her from the family page.
    await open(son, '/family');
    await submit(son, son.locator('[data-testid=elder]').filter({ hasText: '李秀英' }).locator('a.button'));
    assert.equal(pathOf(son), '/cases/new');
    await check(son, 'the report form for her');
    const choice = son.locator('#for_resident');
    assert.equal(await choice.count(), 1, 'the form asks 为谁反映');
    herResident = Number(await choice.inputValue());
    assert.ok(herResident > 0, 'she is chosen already');
    await son.fill('#text', FOR_HER);
    await submit(son, son.locator('form[enctype="multipart/form-data"] button[type=submit]').first());
    if (pathOf(son) === '/cases/new') {
      // Open cases like it are shown first: file it anyway.
      await submit(son, son.locator('form[enctype="multipart/form-data"] button[type=submit]').last());
    }
    assert.match(pathOf(son), /^\/cases\/\d+$/, `after filing he is on ${pathOf(son)}: ${await son.locator('[role=alert]').allInnerTexts()}`);
    await visit(son, '/family', 'the family page after reporting');
    assert.ok((await son.locator('[data-testid=elder]').filter({ hasText: '李秀英' }).innerText()).includes(FOR_HER), 'the report for her is among hers');
    await elderMode(son, false);
  });

  it('b. a new binding, confirmed by the elder herself', { timeout: TEST_TIMEOUT }, async () => {
    const helper = await phonePage('family-volunteer', VOLUNTEER_PHONE);
    await visit(helper, '/family', 'the family page before binding');
    await helper.fill('#elder', RESIDENT_PHONE);
    assert.equal(await helper.locator('#elder').getAttribute('inputmode'), 'text', 'an ID number ending in X can be typed');
    await helper.selectOption('#relation', 'other_relative');
    await submit(helper, helper.locator('form[action="/me/family/request"] button[type=submit]'));
    assert.equal(await helper.locator('[data-testid=family-requested]').count(), 1, 'the request is acknowledged');
    const mine = await helper.locator('[data-testid=my-requests] li').first().innerText();
    assert.ok(mine.includes('139****0006') && mine.includes('其他亲属') && mine.includes('等待确认'), `he sees his own request: ${mine}`);
    await check(helper, 'the family page after asking');
    assert.equal(await helper.locator('[data-testid=elder]').filter({ hasText: '李秀英' }).count(), 0, 'nothing before she consents');

    const mother = await phonePage('family-mother-confirms', RESIDENT_PHONE);
    await elderMode(mother, true);
    await visit(mother, '/me', 'her page with the request');
    // Her account links are whole tap targets in elder mode (60 px).
    for (const href of ['/me/password', '/me/data']) {
      const box = await mother.locator(`main a[href="${href}"]`).boundingBox();
      assert.ok(box && box.height >= 60, `${href} is ${box?.height} px tall in elder mode`);
    }
    const request = mother.locator('[data-testid=my-family] .stack').filter({ hasText: '吴浩然' });
    assert.equal(await request.count(), 1, 'she sees who asks');
    await submit(mother, request.locator('[data-testid=family-confirm]'));
    await check(mother, 'her page after confirming');
    assert.ok((await mother.locator('[data-testid=my-family]').innerText()).includes('本人在线确认'), 'how she consented is shown');
    await screenshot(mother, 'family-confirmed.png');
    await elderMode(mother, false);

    await visit(helper, '/family', 'the family page once bound');
    const bound = helper.locator('[data-testid=elder]').filter({ hasText: '李秀英' });
    assert.equal(await bound.count(), 1, 'bound, he sees her');
    // He ends it, so the demo stays as it was.
    await bound.locator('details summary').click();
    await submit(helper, bound.locator('form[action$="/end"] button[type=submit]'));
    assert.equal(await helper.locator('[data-testid=elder]').filter({ hasText: '李秀英' }).count(), 0, 'ended');
  });

  it('c. staff find a resident by her last four digits, tick a tag, and her phone and ID stay', { timeout: TEST_TIMEOUT }, async () => {
    const staff = await phonePage('family-staff-edit', STAFF_PHONE);
    await visit(staff, `/console/residents?c=${SLUG}&q=0006`, 'residents found by last four digits');
    const row = staff.locator(`main a[href^="/console/residents/"]`).filter({ hasText: '李秀英' });
    assert.equal(await row.count(), 1, 'the search by the last four digits finds 李秀英');
    await submit(staff, row.first());
    await check(staff, 'her record');
    const facts = async () => staff.locator('dl.facts').first().innerText();
    const before = await facts();
    assert.ok(before.includes('139****0006'), `the phone is there: ${before}`);
    const tag = staff.locator('input[name=tag][value=low_income]');
    await tag.setChecked(!(await tag.isChecked()));
    await submit(staff, staff.locator('form.stack.card button[type=submit]').last());
    await check(staff, 'her record after saving');
    const after = await facts();
    assert.ok(after.includes('139****0006'), `the phone stays: ${after}`);
    const id = (s) => (s.match(/\d{4}\*+\w{4}/) || [''])[0];
    assert.equal(id(after), id(before), 'the ID number stays');
    const latest = await staff.locator('[data-testid=history] li').first().innerText();
    assert.ok(latest.includes('标签') && latest.includes('周晓梅') && !latest.includes('手机号'), `the record says what changed: ${latest}`);
  });

  it('d. the grid worker is offered only what they may open', { timeout: TEST_TIMEOUT }, async () => {
    const worker = await phonePage('family-grid-worker', GRID_WORKER_PHONE);
    await visit(worker, '/console', 'the grid worker console');
    const links = await navLinks(worker);
    assert.ok(!links.includes('/console/import'), `no 导入导出: ${links}`);
    for (const link of links) await visit(worker, link, `grid worker nav ${link}`);
  });

  it('e. every role’s home says what it can do; the visitor’s links the report and the ledger', { timeout: TEST_TIMEOUT }, async () => {
    for (const [phone, role] of [[VOLUNTEER_PHONE, 'volunteer'], [MERCHANT_PHONE, 'merchant'], [LIAISON_PHONE, 'liaison']]) {
      const page = await phonePage(`family-home-${role}`, phone);
      await elderMode(page, true);
      await visit(page, '/', `the ${role} home`);
      const section = page.locator(`[data-role=${role}]`);
      assert.equal(await section.count(), 1, `the ${role} home has its own section`);
      const text = await section.innerText();
      assert.ok(text.includes('您现在可以') && text.includes('尚未开通'), `${role}: what it can do today and what is to come: ${text}`);
      assert.equal(await page.locator('[data-role=resident]').count(), 0, `${role} is not shown the resident's home`);
      for (const link of await section.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
        await open(page, link);
      }
      await elderMode(page, false);
    }
    const visitor = await phonePage('family-visitor');
    await visit(visitor, '/', 'the visitor home');
    const hrefs = await visitor.locator('main a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(hrefs.includes('/cases/new') && hrefs.includes('/ledger'), `the visitor home links the report and the ledger: ${hrefs}`);
    assert.ok(!(await visitor.locator('main').innerText()).includes('在线办事、反映问题、报名活动'), 'no promise of what does not exist');
  });

  it('nothing left 127.0.0.1 and no script broke', () => {
    assertNone(foreign, 'requests to other hosts');
    assertNone(scriptErrors, 'script errors');
  });
});
