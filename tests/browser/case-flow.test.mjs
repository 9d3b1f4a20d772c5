// The needs express end to end in headless Chromium against a running Linli demo server.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/case-flow.test.mjs
//
// 1. A resident on a phone reports a problem with a photo (the report form, multipart, no
//    script needed) and lands on the case's page, which shows the photo's thumbnail.
// 2. A staff member on a desktop gives the first response, then resolves the case with an
//    "after" photo on the console.
// 3. The resident opens the rating link from their notifications and rates it: solved, satisfied.
// 4. The public ledger (no login) lists the case as resolved with its photos, and its figures
//    are the ones the API computes, with the new rating counted.
// It also runs axe on the report form and the ledger, and checks that nothing left 127.0.0.1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, NAV_TIMEOUT, RESIDENT_PHONE, STAFF_PHONE, TEST_TIMEOUT, assertAccessible, assertNone, foreign, login, newContext, open,
  pathOf, pngPhoto, screenshot, scriptErrors,
} from './lib.mjs';

const SLUG = 'nanjing-renjia';
const REPORT = '翠微新村3栋门口的路灯坏了三天了,晚上下楼很黑';

let caseId = 0;
let resolved = false;
let rated = false;
let resident;
let figuresBefore;

async function figures() {
  const res = await fetch(`${BASE_URL}/api/v1/communities/${SLUG}/ledger`);
  assert.equal(res.status, 200);
  return (await res.json()).figures;
}

/** Submits the form that `button` belongs to and waits for the page it leads to. */
async function submit(page, button) {
  await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), button.click()]);
  await page.waitForLoadState('load');
}

describe('the needs express, end to end', () => {
  it('a resident on a phone reports a problem with a photo', { timeout: TEST_TIMEOUT }, async () => {
    figuresBefore = await figures();
    const context = await newContext('case-resident', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    resident = await context.newPage();
    await login(resident, RESIDENT_PHONE);
    await open(resident, '/cases/new');
    await assertAccessible(resident, '/cases/new (resident, 390×844)');
    await resident.fill('#text', REPORT);
    // The first building's first unit: a place from the registry.
    const unit = await resident.locator('#building_id option[value^="u"]').first().getAttribute('value');
    await resident.selectOption('#building_id', unit);
    await resident.setInputFiles('#photos', { name: 'lamp.png', mimeType: 'image/png', buffer: pngPhoto() });
    await submit(resident, resident.locator('form[enctype="multipart/form-data"] button[type=submit]'));
    // Open cases like this one may be shown first (the photo is kept): file it anyway.
    if (pathOf(resident) === '/cases/new') {
      assert.equal(await resident.locator('[data-testid=similar]').count(), 1, `still on the form: ${await resident.locator('[role=alert]').allInnerTexts()}`);
      assert.equal(await resident.locator('[data-testid=photos-kept]').count(), 1, 'the photo is kept, not chosen again');
      await submit(resident, resident.locator('form[enctype="multipart/form-data"] button[type=submit]'));
    }
    const match = pathOf(resident).match(/^\/cases\/(\d+)$/);
    assert.ok(match, `after filing the resident is on ${pathOf(resident)}`);
    caseId = Number(match[1]);
    const thumb = resident.locator('[data-testid=photos] img').first();
    await thumb.waitFor();
    assert.ok(await thumb.evaluate((img) => img.complete && img.naturalWidth > 0), 'the photo thumbnail loads');
    await screenshot(resident, 'case-filed.png');
  });

  it('staff respond and resolve it with an after photo', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!caseId) return t.skip('no case was filed');
    const context = await newContext('case-staff', { viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await login(page, STAFF_PHONE);
    await open(page, '/console/cases');
    assert.ok((await page.locator('a[href^="/console/cases/"]').count()) >= 1, 'the queue lists open cases');
    await open(page, `/console/cases/${caseId}`);
    assert.ok((await page.locator('main').innerText()).includes(REPORT), 'staff see the report');
    // Each next step is its own small form (a <details> per step).
    const step = async (to, note, photo) => {
      const details = page.locator(`#step-${to}`);
      if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
      await details.locator('textarea[name=note]').fill(note);
      if (photo) await details.locator('input[type=file]').setInputFiles(photo);
      await submit(page, details.locator('button[type=submit]'));
    };
    await step('acknowledged', '已电话联系居民,今晚安排电工更换灯泡');
    assert.equal(pathOf(page), `/console/cases/${caseId}`);
    // The page names the model that classified it; staff correct the classification, which
    // the page then credits to staff, and the timeline says in words.
    assert.match(await page.locator('[data-triage-model]').innerText(), /分类模型/);
    const form = page.locator('#reclassify');
    await form.locator('#urgency').selectOption('urgent');
    await form.locator('#category').selectOption('municipal');
    await form.locator('#reason').fill('路灯归市政管');
    await submit(page, form.locator('button[type=submit]'));
    assert.equal(await page.locator('[data-triage-model]').innerText(), '工作人员已调整分类');
    const main = await page.locator('main').innerText();
    assert.ok(main.includes('路灯归市政管') && !/\b(urgent|municipal)\//.test(main), 'the correction in words, no stored codes');
    await step('resolved', '已更换灯泡,亮了', { name: 'after.png', mimeType: 'image/png', buffer: pngPhoto(96, 64, [230, 200, 40]) });
    const state = await page.locator('[data-state]').first().getAttribute('data-state');
    assert.equal(state, 'resolved', `after resolving, the case is ${state}: ${await page.locator('[role=alert]').allInnerTexts()}`);
    assert.equal(await page.locator('[data-testid=photos] .redact img').count(), 2, 'before and after photos, each with its redaction grid');
    await assertAccessible(page, `/console/cases/${caseId} (staff, 1280×800)`);
    await screenshot(page, 'case-resolved.png');
    resolved = true;
    // The queue leads to the 自动分类 page, which counts the correction.
    await open(page, '/console/cases');
    await submit(page, page.locator('a[href^="/console/cases/triage"]').first());
    assert.equal(pathOf(page), '/console/cases/triage');
    assert.ok(Number(await page.locator('[data-testid=corrections]').innerText()) >= 1, 'the correction is counted');
    await assertAccessible(page, '/console/cases/triage (staff, 1280×800)');
  });

  it('the resident rates it with the one-tap link', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!resolved) return t.skip('the case was not resolved');
    // The rating invitation reaches the inbox through the outbox worker: look for it for a while.
    let invitation = null;
    for (let i = 0; i < 40 && !invitation; i++) {
      await open(resident, '/me/notifications');
      invitation = await resident.locator('a[data-kind="case_rate"]').first().getAttribute('href').catch(() => null);
      if (!invitation) await resident.waitForTimeout(500);
    }
    assert.ok(invitation, 'a rating invitation arrived in the notifications');
    // Its link passes through the inbox (which marks it read) to the one-tap rating page.
    await open(resident, invitation);
    const href = pathOf(resident);
    assert.match(href, /^\/r\//, `the invitation led to ${href}`);
    await resident.check('input[name=solved][value="1"]');
    await resident.check('input[name=satisfaction][value=satisfied]');
    await resident.fill('#comment', '修得很快,谢谢');
    await submit(resident, resident.locator(`form[action="${href}"] button[type=submit]`));
    assert.equal(await resident.locator('[role=alert]').count(), 0, await resident.locator('main').innerText());
    // The link works once.
    const again = await resident.goto(BASE_URL + href);
    assert.equal(again.status(), 410, 'a used rating link is gone');
    rated = true;
  });

  it('the public ledger shows it with the right figures', { timeout: TEST_TIMEOUT }, async (t) => {
    if (!rated) return t.skip('the case was not rated');
    const context = await newContext('public', { viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    await open(page, `/ledger/${SLUG}`);
    const item = page.locator(`#case-${caseId}`);
    assert.equal(await item.count(), 1, 'the case is on the ledger');
    assert.equal(await item.getAttribute('data-state'), 'resolved');
    assert.ok(!(await page.locator('main').innerText()).includes(REPORT), 'the report\'s words stay off the ledger');
    assert.equal(await item.locator('img').count(), 2, 'before and after photos are public after the response');
    // Thumbnails load lazily: bring the case into view first.
    const img = item.locator('img').first();
    await img.scrollIntoViewIfNeeded();
    await img.evaluate((el) => (el.complete ? null : new Promise((done) => { el.onload = done; el.onerror = done; })));
    assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the public thumbnail loads');
    // The figures on the page are the API's, and the new rating is counted.
    const after = await figures();
    assert.equal(after.cases, figuresBefore.cases + 1);
    if (figuresBefore.cases === 0) {
      for (const key of ['response_rate', 'resolution_rate', 'satisfaction_rate', 'on_time_rate']) {
        assert.equal(after[key], 1, `${key} of a single case answered, resolved, rated solved and satisfied in time`);
      }
    }
    const tiles = await page.locator('[data-testid=figures] .tile').allInnerTexts();
    const pct = (v) => (v == null ? '—' : `${Math.round(v * 100)}%`);
    assert.ok(tiles.some((s) => s.startsWith(String(after.cases))), `cases tile: ${tiles}`);
    for (const [key, label] of [['response_rate', '按时响应率'], ['resolution_rate', '解决率'], ['satisfaction_rate', '满意率']]) {
      const tile = tiles.find((s) => s.includes(label));
      assert.ok(tile && tile.includes(pct(after[key])), `${label}: page says "${tile}", API says ${pct(after[key])}`);
    }
    assert.equal(await page.locator('[data-testid=plan]').count(), 1, 'the plan of the buildings is drawn');
    await assertAccessible(page, `/ledger/${SLUG} (public, 390×844)`);
    await screenshot(page, 'ledger.png');
  });
});

describe('the pages stay on 127.0.0.1', () => {
  it('no request left 127.0.0.1 and no page broke its Content-Security-Policy', () => {
    assertNone(foreign, 'requests that left 127.0.0.1');
    assertNone(scriptErrors, 'script errors and CSP violations');
  });
});
