// The resident's side of the needs express in headless Chromium, as 李秀英 on a 390×844 phone in
// Chinese and then in elder mode, against a running Linli demo server.
//
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/resident-journey.test.mjs
//
// Each round: a visitor files an open case in 翠微新村3栋 (and keeps its private link, which must
// fit the phone); 李秀英 reports a danger there (no "已有人反映" step), then a like problem that
// hits the step, follows the open case from it and files hers anyway with the photo and unit
// kept; Back shows her report as filed (no second case); 我的反映 lists the followed case; her
// session lapses mid-report and a login brings the kept draft back, filed under her name; staff
// resolve her report and she rates it with the big buttons on its page. Every page is checked
// with axe and for horizontal scroll.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, NAV_TIMEOUT, PASSWORD, RESIDENT_PHONE, STAFF_PHONE, TEST_TIMEOUT, assertAccessible, assertNone, foreign, login, newContext,
  open, pathOf, pngPhoto, screenshot, scriptErrors,
} from './lib.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const FORM = 'form#report-form';

/** Submits with `button` and waits for the page it leads to. */
async function submit(page, button) {
  await Promise.all([page.waitForEvent('load', { timeout: NAV_TIMEOUT }), button.click()]);
  await page.waitForLoadState('load');
}

/** The page fits the phone: no horizontal scroll; axe finds nothing serious. */
async function checkPage(page, label) {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client + 1, `${label}: ${scroll}px wide on a ${client}px phone`);
  await assertAccessible(page, label);
}

/** The unit 翠微新村3栋 1单元 (a unit of 李秀英's building) in the place picker. */
async function unitOf(page) {
  const options = await page.locator('#building_id option').evaluateAll((os) => os.map((o) => ({ value: o.value, label: o.textContent.trim() })));
  const unit = options.find((o) => o.value.startsWith('u') && o.label.includes('3栋')) || options.find((o) => o.value.startsWith('u'));
  assert.ok(unit, 'the place picker lists units');
  return unit;
}

/** Fills the report form; `photo` attaches one photo. */
async function fill(page, { text, unit, danger = false, photo = false }) {
  await page.fill('#text', text);
  if (unit) await page.selectOption('#building_id', unit);
  if (danger) await page.check('input[name=danger_now]');
  if (photo) await page.setInputFiles('#photos', { name: 'problem.png', mimeType: 'image/png', buffer: pngPhoto(96, 64, [40, 120, 90]) });
}

/** Passes the similar step, if it comes, by filing anyway. */
async function passStep(page) {
  if (pathOf(page) === '/cases/new' && (await page.locator('[data-testid=similar]').count())) {
    await submit(page, page.locator(`${FORM} button[type=submit]`));
  }
}

function caseIdOf(page) {
  const match = pathOf(page).match(/^\/cases\/(\d+)$/);
  assert.ok(match, `expected a case page, got ${page.url()}: `);
  return Number(match[1]);
}

async function myCaseCount(page) {
  const res = await page.request.get(`${BASE_URL}/api/v1/me/cases`);
  assert.equal(res.status(), 200);
  return (await res.json()).length;
}

/** 110, 119 and 120 in `scope` are call buttons at least `min` px tall. */
async function assertCallButtons(page, scope, min, label) {
  for (const n of ['110', '119', '120']) {
    const box = await page.locator(`${scope} a.call[href="tel:${n}"]`).boundingBox();
    assert.ok(box && box.height >= min - 0.5, `${n} is ${box && box.height}px tall (${label}), at least ${min}px expected`);
  }
}

async function setElder(page, on) {
  await open(page, '/');
  const isOn = await page.evaluate(() => document.body.classList.contains('elder'));
  if (isOn === on) return;
  const button = on ? page.locator('[data-testid=elder-on]') : page.locator('form[action="/prefs/elder"] button[name="on"][value="0"]');
  await submit(page, button.first());
  assert.equal(await page.evaluate(() => document.body.classList.contains('elder')), on, `elder mode ${on ? 'on' : 'off'}`);
}

/** Staff give the first response and resolve case `id` on the console (its step forms). */
async function resolveAsStaff(id) {
  const context = await newContext('journey-staff', { viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await login(page, STAFF_PHONE);
  for (const [to, note] of [['acknowledged', '已电话联系李阿姨，今天下午上门'], ['resolved', '已更换灯泡，楼道亮了']]) {
    await open(page, `/console/cases/${id}`);
    const step = page.locator(`#step-${to}`);
    if (await step.count()) {
      if (!(await step.evaluate((d) => d.open))) await step.locator('summary').click();
      await step.locator('textarea[name=note]').fill(note);
      await submit(page, step.locator('button[type=submit]'));
    } else {
      const moveForm = page.locator(`form[action^="/console/cases/${id}/moves"]`);
      await moveForm.locator('select[name=to]').selectOption(to);
      await moveForm.locator('textarea[name=note]').fill(note);
      await submit(page, moveForm.locator('button[type=submit]'));
    }
  }
  const res = await page.request.get(`${BASE_URL}/api/v1/cases/${id}`);
  assert.equal((await res.json()).state, 'resolved', 'the case is resolved on the console');
  await context.close();
}

async function round(resident, mode) {
  const elder = mode === 'elder';
  const tag = elder ? '大字' : '';
  // A visitor reports an open problem in 3栋 1单元 and keeps the private link.
  const visitorContext = await newContext(`journey-visitor-${mode}`, PHONE);
  if (elder) await visitorContext.addCookies([{ name: 'linli_elder', value: '1', url: BASE_URL }]);
  const visitor = await visitorContext.newPage();
  await open(visitor, '/cases/new');
  const unit = await unitOf(visitor);
  await fill(visitor, { text: `${tag}3栋1单元楼道的声控灯坏了，晚上下楼看不见`, unit: unit.value, photo: true });
  await submit(visitor, visitor.locator(`${FORM} button[type=submit]`));
  await passStep(visitor);
  assert.match(pathOf(visitor), /^\/cases\/follow\//, `the visitor is on ${visitor.url()}`);
  await visitor.locator('[data-testid=follow-link]').waitFor();
  await checkPage(visitor, `private link (${mode})`);
  assert.ok(await visitor.locator('[data-copy=follow-link]').isVisible(), 'a 复制链接 button');
  const openCase = Number(await visitor.evaluate(() => document.querySelector('h1').textContent.match(/#(\d+)/)[1]));
  await screenshot(visitor, `journey-${mode}-private-link.png`);
  await visitorContext.close();

  // A danger is never held up by the similar step.
  await open(resident, '/cases/new');
  assert.match(await resident.locator('[data-testid=promise]').innerText(), /小时内首次回复.*分钟内响应/);
  await checkPage(resident, `/cases/new (${mode})`);
  // 110 / 119 / 120 are call buttons (60px tall in elder mode), and her tabs offer 反映问题 and 问题台账.
  await assertCallButtons(resident, '.call-first', elder ? 60 : 44, mode);
  for (const href of ['/cases/new', '/ledger']) {
    assert.equal(await resident.locator(`nav.tabs a[href="${href}"]`).count(), 1, `${href} in her navigation`);
  }
  await fill(resident, { text: `${tag}2栋1单元202门口情况不对，快来人`, unit: unit.value, danger: true, photo: true });
  await submit(resident, resident.locator(`${FORM} button[type=submit]`));
  caseIdOf(resident);
  assert.match(await resident.locator('[data-testid=filed-promise]').innerText(), /紧急/);
  await checkPage(resident, `danger report filed (${mode})`);

  // A like problem: the step, which keeps the photo and the unit, and following from it.
  await open(resident, '/cases/new');
  const text = `${tag}3栋1单元楼道的声控灯又坏了，晚上很黑`;
  await fill(resident, { text, unit: unit.value, photo: true });
  await submit(resident, resident.locator(`${FORM} button[type=submit]`));
  assert.ok(new URL(resident.url()).searchParams.get('step'), `the similar step, at ${resident.url()}`);
  const suggestion = resident.locator(`[data-testid=similar] li[data-case="${openCase}"]`);
  assert.equal(await suggestion.count(), 1, `the open case #${openCase} of the same unit is suggested`);
  assert.equal(await resident.locator('#text').inputValue(), text);
  assert.equal(await resident.locator('#building_id').inputValue(), unit.value);
  assert.ok(await resident.locator('[data-testid=photos-kept]').isVisible(), 'the photo is kept');
  const kept = resident.locator('[data-testid=photos-kept] img').first();
  await kept.scrollIntoViewIfNeeded();
  const shown = await kept.evaluate((img) => (img.complete ? img.naturalWidth > 0 : new Promise((done) => {
    img.onload = () => done(img.naturalWidth > 0);
    img.onerror = () => done(false);
  })));
  assert.ok(shown, 'the kept photo is shown');
  assert.match(await suggestion.locator('[data-testid=summary]').innerText(), /声控灯/, 'the words it shares with hers, to tell whether it is the same');
  await checkPage(resident, `similar step (${mode})`);
  await screenshot(resident, `journey-${mode}-similar.png`);
  await submit(resident, suggestion.locator('button[name=follow]'));
  assert.ok(await resident.locator('[data-testid=followed]').isVisible(), 'followed');
  assert.match(await resident.locator('[data-testid=not-filed]').innerText(), /您的问题还没有提交/, 'her own report is not filed yet, said plainly');
  assert.equal(await resident.locator('#text').inputValue(), text, 'the words survive following');
  assert.ok(await resident.locator('[data-testid=photos-kept]').isVisible());
  await checkPage(resident, `followed from the step (${mode})`);
  const before = await myCaseCount(resident);
  await submit(resident, resident.locator(`${FORM} button[type=submit]`));
  const filed = caseIdOf(resident);
  assert.ok(await resident.locator('[data-testid=photos] img').count() >= 1, 'the kept photo is on the case');
  assert.match(await resident.locator('main').innerText(), /1单元/);
  assert.equal(await myCaseCount(resident), before + 1);

  // Back: the form's address knows it was filed; nothing is filed twice.
  await resident.goBack({ waitUntil: 'load' });
  const already = resident.locator('[data-testid=already-filed]');
  if (await already.count()) {
    assert.ok(await already.locator(`a[href="/cases/${filed}"]`).count(), 'the filed case is linked');
    await checkPage(resident, `back after filing (${mode})`);
  } else {
    // A page the browser kept: sending it again answers with the same case.
    await submit(resident, resident.locator(`${FORM} button[type=submit]`));
    assert.equal(caseIdOf(resident), filed);
  }
  assert.equal(await myCaseCount(resident), before + 1, 'no second case');

  // 我的反映 lists the followed case: it opens, and 取消关注 undoes the follow.
  await open(resident, '/me/cases');
  const followedCase = resident.locator(`[data-testid=followed-cases] li[data-case="${openCase}"]`);
  assert.equal(await followedCase.count(), 1, 'the followed case under 我关注的');
  await checkPage(resident, `/me/cases (${mode})`);
  await submit(resident, followedCase.locator(`a[href="/ledger/cases/${openCase}"]`));
  assert.equal(pathOf(resident), `/ledger/cases/${openCase}`);
  await checkPage(resident, `followed case (${mode})`);
  await submit(resident, resident.locator('[data-testid=unfollow]'));
  assert.equal(pathOf(resident), '/me/cases');
  assert.equal(await resident.locator(`[data-testid=followed-cases] li[data-case="${openCase}"]`).count(), 0, 'no longer followed');

  // A danger report whose session lapsed: the numbers stay as big call buttons, and she may
  // choose to send it now without a name; nothing is sent until she does.
  await open(resident, '/cases/new');
  await fill(resident, { text: `${tag}家里煤气味很重，头晕`, unit: unit.value, danger: true });
  await resident.context().clearCookies({ name: 'linli_session' });
  await submit(resident, resident.locator(`${FORM} button[type=submit]`));
  assert.equal(await resident.locator('[data-testid=relogin]').count(), 1, 'a login prompt');
  await assertCallButtons(resident, '[data-testid=danger-calls]', 60, `lapsed danger, ${mode}`);
  await checkPage(resident, `lapsed danger (${mode})`);
  await screenshot(resident, `journey-${mode}-lapsed-danger.png`);
  await submit(resident, resident.locator('[data-testid=send-now] button[type=submit]'));
  assert.match(pathOf(resident), /^\/cases\/follow\//, `sent anonymously, at ${resident.url()}`);
  assert.match(await resident.locator('main').innerText(), /紧急/);
  await login(resident, RESIDENT_PHONE);

  // The session lapses mid-report: log in again, the draft comes back, filed under her name.
  await open(resident, '/cases/new');
  const lapsedText = `${tag}3栋门口的消防通道被电动车堵住了`;
  await fill(resident, { text: lapsedText, unit: unit.value, photo: true });
  await resident.context().clearCookies({ name: 'linli_session' });
  await submit(resident, resident.locator(`${FORM} button[type=submit]`));
  const relogin = resident.locator('[data-testid=relogin] a.button');
  assert.equal(await relogin.count(), 1, `a login prompt: ${await resident.locator('main').innerText()}`);
  assert.ok(!resident.url().includes('_csrf'), `the security token is never in the address: ${resident.url()}`);
  await checkPage(resident, `session lapsed (${mode})`);
  await submit(resident, relogin);
  assert.equal(pathOf(resident), '/login');
  await resident.fill('#phone', RESIDENT_PHONE);
  await resident.fill('#password', PASSWORD);
  await submit(resident, resident.locator('form[action="/login"] button[type=submit]').first());
  assert.equal(pathOf(resident), '/cases/new', `back to the draft, at ${resident.url()}`);
  assert.equal(await resident.locator('#text').inputValue(), lapsedText);
  assert.ok(await resident.locator('[data-testid=photos-kept]').isVisible(), 'the photo is kept across the login');
  await submit(resident, resident.locator(`${FORM} button[type=submit]`));
  await passStep(resident);
  const lapsedCase = caseIdOf(resident);
  await open(resident, '/me/cases');
  assert.ok(await resident.locator(`[data-testid=my-cases] a[href="/cases/${lapsedCase}"]`).count(), 'filed under her name');

  // Staff resolve the like problem; she rates it on its page with the big buttons.
  await resolveAsStaff(filed);
  await open(resident, `/cases/${filed}`);
  const rate = resident.locator('[data-testid=rate]');
  assert.equal(await rate.count(), 1, 'a 评价 section on the resolved case');
  const min = elder ? 60 : 44;
  for (const id of ['rate-satisfied', 'rate-basic', 'rate-unsatisfied']) {
    const box = await resident.locator(`[data-testid=${id}]`).boundingBox();
    assert.ok(box && box.height >= min - 0.5, `${id} is ${box && box.height}px tall, at least ${min}px expected`);
  }
  await checkPage(resident, `rating on the case page (${mode})`);
  // Nothing folds the form away: tapping its heading leaves the choices there.
  await rate.locator('h2').click();
  assert.ok(await resident.locator('[data-testid=rate-satisfied]').isVisible(), 'the choices stay after tapping 评价');
  // 满意 / 基本满意 / 不满意 each on one line, never broken inside the word.
  for (const id of ['rate-satisfied', 'rate-basic', 'rate-unsatisfied']) {
    const lines = await resident.locator(`[data-testid=${id}]`).evaluate((label) => {
      const text = [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()).pop();
      const range = document.createRange();
      range.selectNodeContents(text);
      return new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
    });
    assert.equal(lines, 1, `${id} is on ${lines} lines`);
  }
  await resident.locator('label.choice', { hasText: '解决了' }).click();
  await resident.locator('[data-testid=rate-satisfied]').click();
  // A control character in the comment: the form comes back as chosen, with the field's message.
  await resident.fill('#comment', '修得很快👍\u0007');
  await submit(resident, rate.locator('button[type=submit]'));
  assert.match(await resident.locator('#comment-error').innerText(), /含有不可见的控制字符/);
  assert.ok(await resident.locator('[data-testid=rate-satisfied] input').isChecked(), 'the choice is kept');
  assert.match(await resident.locator('#comment').inputValue(), /^修得很快👍/);
  await checkPage(resident, `rating refused (${mode})`);
  await resident.fill('#comment', '修得很快');
  await submit(resident, resident.locator('[data-testid=rate] button[type=submit]'));
  const timeline = await resident.locator('[data-testid=timeline]').innerText();
  assert.match(timeline, /满意：修得很快/);
  assert.ok(!timeline.includes('satisfied'), 'no raw code on the timeline');
  await checkPage(resident, `rated (${mode})`);
  await screenshot(resident, `journey-${mode}-rated.png`);
}

describe('the resident journey on a phone', () => {
  it('李秀英 in Chinese, then in elder mode', { timeout: TEST_TIMEOUT * 2 }, async () => {
    const context = await newContext('journey-resident', PHONE);
    const resident = await context.newPage();
    await login(resident, RESIDENT_PHONE);
    await setElder(resident, false);
    await round(resident, 'zh');
    await setElder(resident, true);
    try {
      await round(resident, 'elder');
    } finally {
      await setElder(resident, false);
    }
  });

  it('stays on this server and runs no script that breaks', () => {
    assertNone(foreign, 'requests that left 127.0.0.1');
    assertNone(scriptErrors, 'script errors');
  });
});
