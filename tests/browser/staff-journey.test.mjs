// The staff side of the needs express, as 周晓梅 (staff) works it on a phone and on a laptop,
// and as 刘建军 (grid worker, 第一网格) sees it on a phone.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/staff-journey.test.mjs
//
// 1. Queue (390×844 and 1366×768): filters and search kept in the address across a refresh,
//    cards on the phone with no horizontal scroll, cases without a building flagged.
// 2. A case: a step with a note comes back with 已保存 next to the changed part, in view; in
//    progress, the same step is 添加说明 (a note on the timeline), an error leaves no token in
//    the address, asides in full-width brackets.
// 3. A lapse: the cookies go, a note is sent, login, back on the case with the note kept.
// 4. Settings in hours and days; the console overview's case figures.
// 5. The ledger on a phone: the figures table in its own box, compounds labelled, building
//    links and export buttons at least 44 px (60 px in elder mode), the care filter saying its
//    cases are counted.
// 6. The grid worker's queue holds only their grid's cases.
// axe runs on every page; nothing leaves 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, NAV_TIMEOUT, PASSWORD, STAFF_PHONE, TEST_TIMEOUT, assertAccessible, assertNone, foreign, login, newContext, open,
  pathOf, screenshot, scriptErrors,
} from './lib.mjs';

const SLUG = 'nanjing-renjia';
const WORKER_PHONE = '13900000002';
const MARK = `走廊灯${Date.now() % 100000}`;
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const LAPTOP = { viewport: { width: 1366, height: 768 } };

/** Submits the form that `button` belongs to and waits for the page it leads to. */
async function submit(page, button) {
  await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), button.click()]);
  await page.waitForLoadState('load');
}

async function noSideways(page, label) {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client + 1, `${label}: the page scrolls sideways (${scroll} > ${client})`);
}

/** Files a case through the API as the page's user, in the first building named `building`. */
async function fileCase(page, text, building) {
  const plan = await (await fetch(`${BASE_URL}/api/v1/communities/${SLUG}/ledger/plan`)).json();
  const body = { text };
  if (building) body.building_id = plan.find((b) => b.name === building).id;
  const res = await page.request.post(`${BASE_URL}/api/v1/communities/${SLUG}/cases`, { data: body });
  assert.equal(res.status(), 201, await res.text());
  return (await res.json()).id;
}

let caseId = 0;
let elsewhere = 0;

describe('the staff journey', () => {
  it('the queue: filters, search and a refresh that keeps them, on a phone and a laptop', { timeout: TEST_TIMEOUT }, async () => {
    const context = await newContext('staff-phone', PHONE);
    const page = await context.newPage();
    await login(page, STAFF_PHONE);
    caseId = await fileCase(page, `${MARK}坏了，晚上看不见`, '翠微新村 2栋');
    elsewhere = await fileCase(page, `${MARK}南苑那边也坏了`, '南苑小区 6栋');
    const nowhere = await fileCase(page, `${MARK}不知道在哪一栋`);

    await open(page, `/console/cases?c=${SLUG}`);
    await assertAccessible(page, 'queue (staff, 390×844)');
    await noSideways(page, 'queue on a phone');
    // Cards: each row is a block as wide as the screen, its text not squeezed into one column.
    const row = page.locator('table.cards tbody tr').first();
    const box = await row.boundingBox();
    assert.ok(box.width > 300, `a queue row is ${box.width}px wide on a phone`);
    const what = await page.locator('table.cards td.what').first().boundingBox();
    assert.ok(what.width > 250, `the report's words get ${what.width}px`);

    const listed = async () => page.locator('tr[data-case]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.case)));
    await page.fill('#q-text', MARK);
    await submit(page, page.locator('[data-testid=queue-filters] button[type=submit]'));
    assert.deepEqual((await listed()).sort(), [caseId, elsewhere, nowhere].sort(), 'search by words');
    const flagged = page.locator(`tr[data-case="${nowhere}"] [data-testid=no-place]`);
    assert.equal(await flagged.count(), 1, 'a case without a building says 不明位置');
    assert.equal(await flagged.innerText(), '不明位置');
    const category = await page.locator(`tr[data-case="${caseId}"]`).getAttribute('data-category');
    await page.selectOption('#q-category', category);
    await submit(page, page.locator('[data-testid=queue-filters] button[type=submit]'));
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('q'), MARK, 'the search is in the address');
    assert.equal(url.searchParams.get('category'), category);
    const found = await listed();
    assert.ok(found.includes(caseId), `search by words and category: ${found}`);
    await page.reload({ waitUntil: 'load' });
    assert.equal(await page.inputValue('#q-text'), MARK, 'a refresh keeps the search');
    assert.equal(await page.inputValue('#q-category'), category, 'and the filters');
    assert.deepEqual((await listed()).sort(), found.sort());
    await page.selectOption('#q-category', '');
    await page.selectOption('#q-grid', 'none');
    await submit(page, page.locator('[data-testid=queue-filters] button[type=submit]'));
    assert.deepEqual(await listed(), [nowhere], 'only the one without a building');
    await page.fill('#q-text', `#${caseId}`);
    await page.selectOption('#q-grid', '');
    await submit(page, page.locator('[data-testid=queue-filters] button[type=submit]'));
    assert.deepEqual(await listed(), [caseId], 'by case number');
    await assertAccessible(page, 'queue filtered (staff, 390×844)');
    await noSideways(page, 'filtered queue on a phone');
    await screenshot(page, 'staff-queue-phone.png');

    const laptop = await (await newContext('staff-laptop', LAPTOP)).newPage();
    await login(laptop, STAFF_PHONE);
    await open(laptop, `/console/cases?c=${SLUG}&q=${encodeURIComponent(MARK)}&overdue=1`);
    assert.equal(await laptop.isChecked('input[name=overdue]'), true, 'the overdue filter is kept');
    assert.equal(await laptop.locator('tr[data-case]').count(), 0, 'none of the new ones is overdue');
    await open(laptop, `/console/cases?c=${SLUG}&q=${encodeURIComponent(MARK)}`);
    assert.equal(await laptop.locator('table.cards thead').isVisible(), true, 'a table with headings on a laptop');
    await assertAccessible(laptop, 'queue (staff, 1366×768)');
    await noSideways(laptop, 'queue on a laptop');
    await screenshot(laptop, 'staff-queue-laptop.png');
  });

  it('a step with a note comes back to the changed part with 已保存', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!caseId) return t.skip('no case');
    const context = await newContext('staff-case', PHONE);
    const page = await context.newPage();
    await login(page, STAFF_PHONE);
    await open(page, `/console/cases/${caseId}`);
    await assertAccessible(page, 'staff case (390×844)');
    await noSideways(page, 'staff case on a phone');
    // Only the fields the step needs: the merge number belongs to the duplicate step alone.
    assert.equal(await page.locator('#step-acknowledged[open]').count(), 1, 'the first step is open');
    assert.equal(await page.locator('#parent_id').isVisible(), false, 'no merge number outside its step');
    assert.equal(await page.locator('input[type=file]').count(), 0, 'no after photos before a result');
    await page.fill('#note-acknowledged', '已电话联系居民，明天上午派电工');
    await submit(page, page.locator('#step-acknowledged button[type=submit]'));
    assert.equal(new URL(page.url()).hash, '#latest');
    const saved = page.locator('[data-testid=saved]');
    assert.equal(await saved.innerText(), '已保存');
    assert.ok(await saved.isVisible());
    const inView = await saved.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; });
    assert.ok(inView, 'the notice is in view');
    assert.ok((await page.locator('#latest').innerText()).includes('已电话联系居民'), 'the step and its note are on the timeline');
    await assertAccessible(page, 'staff case after a step (390×844)');
    await screenshot(page, 'staff-case-saved.png');

    // In progress, the same step again is an added note, not another 处理中.
    const toWork = page.locator('#step-in_progress');
    if (!(await toWork.evaluate((d) => d.open))) await toWork.locator('summary').click();
    await page.fill('#note-in_progress', '电工已到现场');
    await submit(page, page.locator('#step-in_progress button[type=submit]'));
    const steps = await page.locator('details.step summary').allInnerTexts();
    assert.ok(!steps.includes('处理中') && steps.includes('添加说明'), `the steps offered: ${steps}`);
    const noteStep = page.locator('#step-in_progress');
    if (!(await noteStep.evaluate((d) => d.open))) await noteStep.locator('summary').click();
    // An empty note is refused where it was typed, and the address carries no token.
    await submit(page, noteStep.locator('button[type=submit]'));
    assert.ok(!page.url().includes('_csrf'), `no token in the address: ${page.url()}`);
    assert.equal(pathOf(page), `/console/cases/${caseId}`, `an error keeps the case page's address: ${page.url()}`);
    assert.ok((await page.locator('[role=alert]').first().innerText()).length > 0, 'the error is said');
    const again = page.locator('#step-in_progress');
    if (!(await again.evaluate((d) => d.open))) await again.locator('summary').click();
    await page.fill('#note-in_progress', '灯具缺货，周五前换好');
    await submit(page, again.locator('button[type=submit]'));
    const latest = await page.locator('#latest').innerText();
    assert.ok(latest.includes('补充说明') && latest.includes('周五前换好'), `the note on the timeline: ${latest}`);
    const facts = await page.locator('dl.facts').innerText();
    assert.ok(!/[()]/.test(facts), `full-width brackets on the case page: ${facts}`);
    await assertAccessible(page, 'staff case after a note (390×844)');
    await noSideways(page, 'staff case after a note');
  });

  it('the 居民, 住户 and 楼栋 lists are cards on a phone, nothing squeezed or cut off', { timeout: TEST_TIMEOUT }, async () => {
    const context = await newContext('staff-registry-phone', PHONE);
    const page = await context.newPage();
    await login(page, STAFF_PHONE);
    for (const [path, label] of [['/console/residents', '居民'], ['/console/households', '住户'], ['/console/buildings', '楼栋']]) {
      await open(page, `${path}?c=${SLUG}`);
      await noSideways(page, `${label} on a phone`);
      const row = page.locator('table.cards tbody tr').first();
      const box = await row.boundingBox();
      assert.ok(box.width > 300, `a ${label} row is ${box.width}px wide on a phone`);
      // Every cell stays inside its card.
      const overflow = await page.evaluate(() => [...document.querySelectorAll('table.cards tbody tr')].slice(0, 20).flatMap((tr) => {
        const r = tr.getBoundingClientRect();
        return [...tr.querySelectorAll('td')].filter((td) => td.scrollWidth > td.clientWidth + 1 || td.getBoundingClientRect().right > r.right + 1).map((td) => td.innerText);
      }));
      assert.deepEqual(overflow, [], `${label}: cells run off their card`);
      await assertAccessible(page, `${label} (staff, 390×844)`);
    }
    await open(page, `/console/residents?c=${SLUG}`);
    // A name is one line, not one character per line.
    const { height, line } = await page.evaluate(() => {
      const a = document.querySelector('table.cards tbody td.name a');
      return { height: a.getBoundingClientRect().height, line: parseFloat(getComputedStyle(a).lineHeight) || 24 };
    });
    assert.ok(height < 2 * line, `a name takes ${height}px (line ${line}px)`);
    await screenshot(page, 'staff-residents-phone.png');
  });

  it('a lapse keeps the note: cookies gone, note sent, login, back on the case with it', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!caseId) return t.skip('no case');
    const context = await newContext('staff-lapse', PHONE);
    const page = await context.newPage();
    await login(page, STAFF_PHONE);
    await open(page, `/console/cases/${caseId}`);
    await context.clearCookies();
    const note = '居民说周三下午在家，约好再去看😀';
    const step = page.locator('details.step').first();
    const code = (await step.getAttribute('id')).replace('step-', '');
    if (!(await step.evaluate((d) => d.open))) await step.locator('summary').click();
    await page.fill(`#note-${code}`, note);
    await submit(page, step.locator('button[type=submit]'));
    assert.equal(pathOf(page), '/login', `a lapsed form goes to log in, not ${page.url()}`);
    const why = await page.locator('[role=status]').first().innerText();
    assert.ok(why.includes('登录已过期') && why.includes('您填写的内容已保留'), `the login page says why: ${why}`);
    await page.fill('#phone', STAFF_PHONE);
    await page.fill('#password', PASSWORD);
    await submit(page, page.locator('form[action="/login"] button[type=submit], form[action="/login"] button:not([type])').first());
    assert.equal(pathOf(page), `/console/cases/${caseId}`, 'back on the case');
    assert.equal(await page.locator('[data-testid=restored]').count(), 1, 'the page says the words are back');
    assert.equal(await page.inputValue(`#note-${code}`), note, 'the note is kept in its form');
    await assertAccessible(page, 'staff case with a restored note (390×844)');
    await screenshot(page, 'staff-case-restored.png');
  });

  it('settings in hours and days, and the overview figures', { timeout: TEST_TIMEOUT }, async () => {
    const context = await newContext('staff-settings', LAPTOP);
    const page = await context.newPage();
    await login(page, STAFF_PHONE);
    await open(page, `/console/cases/settings?c=${SLUG}`);
    assert.equal(await page.inputValue('input[name=first_critical]'), '15');
    assert.equal(await page.inputValue('select[name=first_critical_unit]'), 'minutes');
    assert.equal(await page.inputValue('input[name=result_normal]'), '1');
    assert.equal(await page.inputValue('select[name=result_normal_unit]'), 'days');
    assert.equal(await page.inputValue('select[name=first_normal_unit]'), 'hours', 'hours, not 120 minutes');
    await assertAccessible(page, 'case settings (1366×768)');
    await noSideways(page, 'settings');
    const phone = await (await newContext('staff-settings-phone', PHONE)).newPage();
    await login(phone, STAFF_PHONE);
    await open(phone, `/console/cases/settings?c=${SLUG}`);
    await assertAccessible(phone, 'case settings (390×844)');
    await noSideways(phone, 'settings on a phone');

    await open(page, `/console?c=${SLUG}`);
    const figures = page.locator('[data-testid=console-figures] a.tile');
    const labels = await figures.allInnerTexts();
    for (const label of ['待办案件', '已超时', '今天到期', '本月满意率']) {
      assert.ok(labels.some((l) => l.includes(label)), `${label} on the overview: ${labels}`);
    }
    const open_ = Number((await figures.first().locator('.icon').innerText()).trim());
    assert.ok(open_ >= 3, `open cases counted: ${open_}`);
    await assertAccessible(page, 'console overview (1366×768)');
    await screenshot(page, 'console-overview.png');
  });

  it('the ledger on a phone, and in elder mode', { timeout: TEST_TIMEOUT }, async () => {
    const context = await newContext('ledger-phone', PHONE);
    const page = await context.newPage();
    await open(page, `/ledger/${SLUG}?by=grid`);
    await noSideways(page, 'ledger on a phone');
    const wrap = page.locator('#breakdown');
    const fits = await wrap.evaluate((el) => el.getBoundingClientRect().right <= document.documentElement.clientWidth + 1);
    assert.ok(fits, 'the figures table stays in its own box');
    const headings = await page.locator('[data-testid=plan] h3').allInnerTexts();
    for (const compound of ['翠微新村', '南苑小区', '锦绣花园']) assert.ok(headings.includes(compound), `${compound} labelled: ${headings}`);
    const small = await page.locator('[data-testid=plan] a.chip').evaluateAll((links) =>
      links.map((a) => a.getBoundingClientRect()).filter((r) => r.width < 44 || r.height < 44).length);
    assert.equal(small, 0, 'every building link is at least 44×44');
    const grids = await page.locator('[data-testid=breakdown] tbody th.group').allInnerTexts();
    const order = ['第一网格', '第二网格', '第三网格', '第四网格'].map((g) => grids.indexOf(g));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), `grids in natural order: ${grids}`);
    assert.ok(!(await page.locator('[data-testid=breakdown]').innerText()).match(/0\.\d{3}/), 'rates as percentages');
    const exportsSmall = await page.locator('[data-testid=exports] a').evaluateAll((links) =>
      links.map((a) => a.getBoundingClientRect()).filter((r) => r.width < 44 || r.height < 44).length);
    assert.equal(exportsSmall, 0, 'the export buttons are at least 44×44');
    await assertAccessible(page, 'ledger (public, 390×844)');
    await screenshot(page, 'ledger-phone.png');

    await open(page, `/ledger/${SLUG}?category=care#cases`);
    const note = page.locator('[data-testid=private-note]');
    assert.equal(await note.count(), 1, 'care cases: counted, kept private');
    assert.ok((await note.innerText()).includes('不逐条公开'));
    assert.ok(!(await page.locator('main').innerText()).includes('还没有反映的问题'));
    await assertAccessible(page, 'ledger care filter (390×844)');

    await page.locator('[data-testid=elder-on]').click();
    await page.waitForFunction(() => document.body.classList.contains('elder'), null, { timeout: NAV_TIMEOUT });
    await open(page, `/ledger/${SLUG}`);
    await noSideways(page, 'ledger in elder mode');
    const tiny = await page.locator('[data-testid=plan] a.chip').evaluateAll((links) =>
      links.map((a) => a.getBoundingClientRect()).filter((r) => r.width < 60 || r.height < 60).length);
    assert.equal(tiny, 0, 'every building link is at least 60×60 in elder mode');
    const exportsTiny = await page.locator('[data-testid=exports] a').evaluateAll((links) =>
      links.map((a) => a.getBoundingClientRect()).filter((r) => r.width < 60 || r.height < 60).length);
    assert.equal(exportsTiny, 0, 'the export buttons are at least 60×60 in elder mode');
    await assertAccessible(page, 'ledger (elder mode, 390×844)');
    await screenshot(page, 'ledger-elder.png');
  });

  it('a grid worker on a phone sees only their grid', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!caseId) return t.skip('no case');
    const context = await newContext('worker-phone', PHONE);
    const page = await context.newPage();
    await login(page, WORKER_PHONE);
    await open(page, `/console/cases?c=${SLUG}&q=${encodeURIComponent(MARK)}`);
    const listed = await page.locator('tr[data-case]').evaluateAll((rows) => rows.map((r) => Number(r.dataset.case)));
    assert.deepEqual(listed, [caseId], `第一网格 only: ${listed}`);
    await open(page, `/console/cases?c=${SLUG}`);
    const places = await page.locator('tr[data-case] td.what .muted').allInnerTexts();
    assert.ok(places.length > 0, 'their grid has cases');
    const stray = places.filter((p) => !/翠微新村 [1-8]栋/.test(p));
    assertNone(stray, 'cases outside 第一网格 in the grid worker\'s queue');
    const response = await page.goto(`${BASE_URL}/console/cases/${elsewhere}`);
    assert.equal(response.status(), 404, 'another grid\'s case does not exist for them');
    await open(page, `/console/cases?c=${SLUG}`);
    await assertAccessible(page, 'queue (grid worker, 390×844)');
    await noSideways(page, 'grid worker queue');
    await screenshot(page, 'worker-queue.png');
  });

  it('nothing left 127.0.0.1 and no script broke', () => {
    assertNone(foreign, 'requests that left 127.0.0.1');
    assertNone(scriptErrors, 'script errors');
  });
});
