// The beheerder's console in Chromium against a real `kvo serve --demo`:
// draw an area (a self-intersecting one first) and two zones, set up a
// category with a question, invite a phone and open the QR link in the
// reporting app, block that phone and see its next request refused, give a
// partner a web account whose password they set themselves, import a
// lamp-post register (twice) and the streets, and read it all back in the
// audit log; the gemeente's work list; a published area's public overview,
// opened without signing in; and the privacy and links tab. Run by `./do test`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, launch, startServer, suite } from './harness.mjs';

const BEHEERDER = 'beheerder@example.org';
const PASSWORD = 'demo-werkgroep-2026';
const AXE = readFileSync(join(import.meta.dirname, '../node_modules/axe-core/axe.min.js'), 'utf8');

const server = await startServer();
const browser = await launch();
const { test, done } = suite();
// axe is injected as an inline script, which the server's Content-Security-Policy rightly forbids.
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
const phones = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });

function watch(page) {
  page.on('pageerror', (e) => console.log('page error:', e.message));
  page.on('dialog', (d) => d.accept());
  return page;
}
async function ready(page) {
  await page.waitForFunction(() => ['idle', 'error', 'signin'].includes(document.body?.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'idle', await page.locator('#app').textContent());
}
async function axe(page, what) {
  await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
  const v = r.violations.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  assert.deepEqual(v, [], `axe on ${what}`);
}
/** The page's own API, with its session cookie. */
const get = (page, path) => page.evaluate(async (p) => (await fetch(`/api/v1${p}`)).json(), path);

/** Clicks the map at points given as fractions of the area's bounding box (x west→east, y north→south). */
async function clickArea(page, fractions) {
  const points = await page.evaluate(async (fr) => {
    const id = document.body.dataset.area;
    const area = await (await fetch(`/api/v1/areas/${id}`)).json();
    const ring = area.boundary.type === 'Polygon' ? area.boundary.coordinates[0] : area.boundary.coordinates[0][0];
    const xs = ring.map((c) => c[0]), ys = ring.map((c) => c[1]);
    const [w, e, s, n] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    return fr.map(([fx, fy]) => { const p = window.kvoMap.project([w + fx * (e - w), n - fy * (n - s)]); return [p.x, p.y]; });
  }, fractions);
  const box = await page.locator('#admin-map canvas').boundingBox();
  for (const [x, y] of points) {
    await page.mouse.click(box.x + x, box.y + y);
    await page.waitForTimeout(120); // apart, so two clicks are never a double-click
  }
}

const page = watch(await context.newPage());
let areaId;

await test('the beheerder signs in and finds the console', async () => {
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => ['signin', 'idle'].includes(document.body?.dataset.state));
  await page.getByLabel(/E-mailadres/).fill(BEHEERDER);
  await page.getByLabel(/Wachtwoord/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Inloggen' }).click();
  await page.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  await page.goto(`${server.url}/beheer/`);
  await ready(page);
  assert.equal(await page.locator('.tabs [role=tab]').count(), 7);
  await axe(page, 'the area tab');
});

await test('a self-intersecting boundary is refused and its spot marked; a drawn area is created', async () => {
  await page.locator('.new-area summary').click();
  await page.locator('input[name=new-name]').fill('Testgebied Oost');
  await page.locator('select[name=new-kind]').selectOption('kvo_b');
  await page.locator('input[name=new-municipality]').fill('Deventer');
  // A bow tie: its edges cross in the middle.
  await page.locator('.new-area .start-draw').click();
  await clickArea(page, [[0.3, 0.3], [0.7, 0.7], [0.7, 0.3], [0.3, 0.7]]);
  assert.equal(await page.evaluate(() => document.body.dataset.drawCorners), '4');
  await page.locator('.new-area .finish-draw').click();
  await page.locator('.message.error').waitFor();
  assert.match(await page.locator('.message.error').textContent(), /de rand snijdt zichzelf.*\(bij 5\d\.\d+, \d\.\d+\)/);
  assert.equal(await page.locator('.problem-marker').count(), 1, 'the spot is marked on the map');
  await page.screenshot({ path: join(ARTIFACTS, '20-beheer-grens-fout.png') });
  // A proper square.
  await page.locator('.new-area .start-draw').click();
  await clickArea(page, [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]]);
  await Promise.all([page.waitForURL(/tab=zones/), page.locator('.new-area .finish-draw').click()]);
  areaId = new URL(page.url()).searchParams.get('area');
  await ready(page);
  const area = await get(page, `/areas/${areaId}`);
  assert.equal(area.name, 'Testgebied Oost');
  assert.equal(area.kind, 'kvo_b');
  assert.equal(area.boundary.coordinates[0][0].length, 5, 'four corners, closed');
});

await test('two zones drawn on the map', async () => {
  for (const [name, x0, x1] of [['West', 0.05, 0.45], ['Oost', 0.55, 0.95]]) {
    await page.locator('input[name=zone-name]').fill(name);
    await page.locator('.start-draw').click();
    await clickArea(page, [[x0, 0.1], [x1, 0.1], [x1, 0.9], [x0, 0.9]]);
    await Promise.all([page.waitForEvent('load'), page.locator('.finish-draw').click()]);
    await ready(page);
  }
  assert.deepEqual(await page.locator('ul.zones li input').evaluateAll((l) => l.map((i) => i.value)), ['Oost', 'West']);
  const area = await get(page, `/areas/${areaId}`);
  assert.deepEqual(area.zones.map((z) => z.name), ['Oost', 'West']);
  // A third one over both is refused, with the overlap named.
  await page.locator('input[name=zone-name]').fill('Midden');
  await page.locator('.start-draw').click();
  await clickArea(page, [[0.3, 0.2], [0.7, 0.2], [0.7, 0.8], [0.3, 0.8]]);
  await page.locator('.finish-draw').click();
  await page.locator('.message.error').waitFor();
  assert.match(await page.locator('.message.error').textContent(), /overlapt met zone ‘(Oost|West)’/);
  await page.screenshot({ path: join(ARTIFACTS, '21-beheer-zones.png') });
});

await test('a category gets a question, and the reporting app sees it', async () => {
  await page.goto(`${server.url}/beheer/?area=${areaId}&tab=categorieen`);
  await ready(page);
  const row = page.locator('tr[data-code=graffiti]');
  await row.locator('.edit-questions').click();
  const editor = page.locator('tr.editor:not([hidden])');
  await editor.locator('.add-question').click();
  const q = editor.locator('fieldset.question').last();
  await q.locator('.q-nl').fill('Hoe groot is de tekening?');
  await q.locator('.q-en').fill('How large is the drawing?');
  await q.locator('.q-kind').selectOption('choice');
  await q.locator('.q-required').check();
  await q.locator('.q-options').fill('Klein | Small\nGroter dan een deur | Larger than a door');
  await editor.locator('.save-questions').click();
  await page.locator('.message.ok').waitFor();
  await row.locator('input[type=checkbox]').nth(1).check(); // urgent
  await row.locator('.save-category').click();
  await page.waitForFunction(() => document.body.dataset.state === 'idle');
  const list = await get(page, `/areas/${areaId}/categories`);
  const graffiti = list.categories.find((c) => c.code === 'graffiti');
  assert.equal(graffiti.urgent, true);
  assert.deepEqual(graffiti.questions.map((x) => [x.code, x.kind, x.required, x.options.map((o) => o.code)]),
    [['hoe_groot_is_de_tekening', 'choice', true, ['klein', 'groter_dan_een_deur']]]);
  await axe(page, 'the categories tab');
});

await test('the lamp-post register is read from a CSV in RD, read again in place, and the streets name the posts', async () => {
  await page.goto(`${server.url}/beheer/?area=${areaId}&tab=registers`);
  await ready(page);
  // Three posts inside the area and one far outside, in RD (EPSG:28992) with
  // decimal commas and semicolons, the way a gemeente's spreadsheet exports them.
  const area = await get(page, `/areas/${areaId}`);
  const ring = area.boundary.type === 'Polygon' ? area.boundary.coordinates[0] : area.boundary.coordinates[0][0];
  const [w, e] = [Math.min(...ring.map((c) => c[0])), Math.max(...ring.map((c) => c[0]))];
  const [s, n] = [Math.min(...ring.map((c) => c[1])), Math.max(...ring.map((c) => c[1]))];
  const inside = [0.3, 0.5, 0.7].map((f) => [w + f * (e - w), s + 0.5 * (n - s)]);
  const rd = ([lon, lat]) => { // Schreutelkamp & Strang van Hees, good to a metre: enough for a test
    const dp = 0.36 * (lat - 52.1551744), dl = 0.36 * (lon - 5.38720621);
    return [155000 + 190094.945 * dl - 11832.228 * dp * dl - 114.221 * dp * dp * dl - 32.391 * dl ** 3 - 0.705 * dp - 2.34 * dp ** 3 * dl,
      463000 + 309056.544 * dp + 3638.893 * dl * dl + 73.077 * dp * dp - 157.984 * dp * dl * dl + 59.788 * dp ** 3];
  };
  const csv = (rows) => Buffer.from(['mastnummer;x;y', ...rows.map(([id, p]) => `${id};${rd(p).map((v) => v.toFixed(2).replace('.', ',')).join(';')}`)].join('\n'));
  const file = page.locator('tr[data-kind=lichtmast] input[type=file]');
  await file.setInputFiles({ name: 'lichtmasten.csv', mimeType: 'text/csv',
    buffer: csv([['0410', inside[0]], ['0411', inside[1]], ['0412', inside[2]], ['9999', [4.9, 52.37]]]) });
  await page.locator('.message.ok, .message.error').waitFor();
  assert.match(await page.locator('.message').textContent(), /Lichtmasten ingelezen \(RD\): 3 nieuw, 0 bijgewerkt, 0 ongewijzigd, 0 niet meer in het register, 1 buiten het gebied/);
  assert.equal(await page.locator('tr[data-kind=lichtmast] .count').textContent(), '3');
  const before = await get(page, `/areas/${areaId}/assets?kind=lichtmast`);
  const changed = (prev) => page.waitForFunction((p) => document.querySelector('.message')?.textContent !== p, prev);
  // The next year's file: 0412 is gone, 0411 moved; ids stay.
  const first = await page.locator('.message').textContent();
  await file.setInputFiles({ name: 'lichtmasten-2027.csv', mimeType: 'text/csv',
    buffer: csv([['0410', inside[0]], ['0411', [inside[1][0] + 0.0003, inside[1][1]]]]) });
  await changed(first);
  assert.match(await page.locator('.message').textContent(), /: 0 nieuw, 1 bijgewerkt, 1 ongewijzigd, 1 niet meer in het register, 0 buiten/);
  const after = await get(page, `/areas/${areaId}/assets?kind=lichtmast`);
  assert.deepEqual(after.map((a) => [a.external_id, a.id]), before.filter((a) => a.external_id !== '0412').map((a) => [a.external_id, a.id]));
  assert.equal(await page.locator('tr[data-kind=lichtmast] .count').textContent(), '2');
  // Assets are drawn on the map.
  await page.waitForFunction(() => new Set(window.kvoMap.queryRenderedFeatures({ layers: ['assets'] }).map((f) => f.properties.label)).size === 2);

  // A street through the middle of the area names the posts.
  const street = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { straatnaam: 'Lantaarnpad' },
    geometry: { type: 'LineString', coordinates: [[w - 0.001, s + 0.5 * (n - s)], [e + 0.001, s + 0.5 * (n - s)]] } }] };
  const second = await page.locator('.message').textContent();
  await page.locator('input[aria-label="Bestand kiezen: Straten"]').setInputFiles({ name: 'straten.geojson',
    mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(street)) });
  await changed(second);
  assert.match(await page.locator('.message').textContent(), /Straten ingelezen \(WGS 84\): 1 stukken straat, 0 zonder naam weggelaten, 0 buiten het gebied/);
  assert.deepEqual((await get(page, `/areas/${areaId}/assets`)).map((a) => a.street), ['Lantaarnpad', 'Lantaarnpad']);

  // A file that is not a register: the problem names the row.
  await file.setInputFiles({ name: 'kapot.csv', mimeType: 'text/csv', buffer: Buffer.from('mastnummer;x;y\n0410;abc;463000\n') });
  await page.locator('.message.error').waitFor();
  assert.match(await page.locator('.message.error').textContent(), /regel 2: ‘abc’ is geen getal/);
  await page.screenshot({ path: join(ARTIFACTS, '24-beheer-registers.png') });
  await axe(page, 'the registers tab');
  const log = await get(page, `/areas/${areaId}/audit-log`);
  assert.ok(['register.import', 'streets.import'].every((a) => log.entries.some((x) => x.action === a)));
});

let phonePage;
let phoneToken;
await test('an invite with its QR code and letter; the phone joins with the link, and a blocked phone is refused', async () => {
  await page.goto(`${server.url}/beheer/?area=${areaId}&tab=mensen`);
  await ready(page);
  await page.locator('select[name=invite-role]').selectOption('ondernemer');
  await page.locator('input[name=invite-uses]').fill('2');
  await page.locator('.invite-form button[type=submit]').click();
  await page.locator('.letter .qr svg').waitFor();
  const link = await page.locator('.letter .invite-link a').getAttribute('href');
  const code = await page.locator('.letter .invite-code').textContent();
  assert.ok(link.endsWith(`/melden/#code=${code}`), link);
  // The letter prints on A4 portrait without the console around it.
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ preferCSSPageSize: true });
  writeFileSync(join(ARTIFACTS, 'uitnodigingsbrief.pdf'), pdf);
  const boxes = [...pdf.toString('latin1').matchAll(/\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.ok(boxes.length >= 1 && boxes.every(([w, h]) => Math.abs(w - 595.3) < 2 && Math.abs(h - 841.9) < 2), `A4: ${JSON.stringify(boxes)}`);
  await page.emulateMedia({ media: 'screen' });

  // The phone opens the QR code's link and joins.
  phonePage = watch(await phones.newPage());
  await phonePage.goto(link);
  await phonePage.waitForFunction(() => document.body?.dataset.screen === 'join');
  await phonePage.getByLabel('Uw naam').fill('Fietsenmaker Oost');
  await phonePage.getByRole('button', { name: 'Aanmelden' }).click();
  await phonePage.waitForFunction(() => document.body?.dataset.screen === 'home');
  phoneToken = await phonePage.evaluate(() => new Promise((ok, fail) => {
    const r = indexedDB.open('kvo-melden');
    r.onsuccess = () => { const g = r.result.transaction('kv').objectStore('kv').get('session'); g.onsuccess = () => ok(g.result?.token ?? null); g.onerror = fail; };
    r.onerror = fail;
  }));
  const me = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${phoneToken}` } });
  assert.equal(me.status, 200);

  // The console lists the invite (1 of 2 used) and the new member with the phone; blocking it takes effect at once.
  await page.reload();
  await ready(page);
  assert.match(await page.locator('table.invites tbody tr').first().textContent(), /1 \/ 2/);
  const member = page.locator('table.members tr', { hasText: 'Fietsenmaker Oost' });
  await Promise.all([page.waitForEvent('load'), member.locator('.revoke-device').click()]);
  await ready(page);
  assert.equal(await page.locator('table.members tr', { hasText: 'Fietsenmaker Oost' }).locator('em').textContent(), 'geblokkeerd');
  const refused = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${phoneToken}` } });
  assert.equal(refused.status, 401, 'the blocked phone is refused');
  await axe(page, 'the people tab');
});

await test('a partner gets a web account and sets the password through the link', async () => {
  await page.locator('input[name=account-email]').fill('wijkagent@politie.example');
  await page.locator('input[name=account-name]').fill('Wijkagent Oost');
  await page.locator('select[name=account-role]').selectOption('politie');
  await page.locator('.account-form button[type=submit]').click();
  const link = await page.locator('code.password-link').textContent();
  assert.match(link, /\/wachtwoord\/#token=kvop_[0-9a-f]{64}$/);
  const own = await browser.newContext();
  const p = watch(await own.newPage());
  await p.goto(link);
  await p.waitForFunction(() => document.body?.dataset.state === 'idle');
  await p.getByLabel(/Nieuw wachtwoord/).fill('een eigen wachtwoord');
  await p.getByLabel('Nog een keer').fill('een eigen wachtwoord');
  await p.getByRole('button', { name: 'Wachtwoord opslaan' }).click();
  await p.waitForFunction(() => document.body?.dataset.state === 'done');
  const signin = await p.evaluate(async () => (await fetch('/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'wijkagent@politie.example', password: 'een eigen wachtwoord' }) })).json());
  assert.deepEqual(signin.memberships.map((m) => [m.area_name, m.role]), [['Testgebied Oost', 'politie']]);
  // The link works once.
  await p.goto('about:blank');
  await p.goto(link);
  await p.getByLabel(/Nieuw wachtwoord/).fill('nog een wachtwoord');
  await p.getByLabel('Nog een keer').fill('nog een wachtwoord');
  await p.getByRole('button', { name: 'Wachtwoord opslaan' }).click();
  await p.locator('.message.error').waitFor();
  assert.match(await p.locator('.message.error').textContent(), /al gebruikt/);
  await own.close();
});

await test('the audit log shows every change, newest first', async () => {
  await page.goto(`${server.url}/beheer/?area=${areaId}&tab=logboek`);
  await ready(page);
  const actions = await page.locator('table.log tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.action));
  assert.deepEqual(actions, ['account.create', 'device.revoke', 'invite.create', 'streets.import', 'register.import',
    'register.import', 'category.update', 'category.update',
    'zone.create', 'zone.create', 'area.create']);
  assert.match(await page.locator('table.log tbody tr').last().textContent(), /Beheerder demo.*gebied aangemaakt.*Testgebied Oost/);
  await page.screenshot({ path: join(ARTIFACTS, '22-beheer-logboek.png'), fullPage: true });
  await axe(page, 'the audit log');
});

await test("the gemeente's work list: overdue first, taken in hand, handed back with a note", async () => {
  const own = await browser.newContext({ viewport: { width: 1000, height: 900 }, bypassCSP: true });
  const p = watch(await own.newPage());
  await p.goto(`${server.url}/`);
  await p.waitForFunction(() => ['signin', 'idle'].includes(document.body?.dataset.state));
  await p.getByLabel(/E-mailadres/).fill('gemeente@example.org');
  await p.getByLabel(/Wachtwoord/).fill(PASSWORD);
  await p.getByRole('button', { name: 'Inloggen' }).click();
  await p.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  await Promise.all([p.waitForURL(/\/taken\//), p.locator('#work-list-link').click()]);
  await ready(p);
  const api = await get(p, '/work-list');
  const cards = p.locator('article.work-item');
  assert.equal(await cards.count(), api.items.length);
  assert.equal(api.items.length, 24, 'twelve in each demo area');
  const overdue = await cards.evaluateAll((l) => l.map((c) => c.dataset.overdue === 'true'));
  assert.deepEqual(overdue, [...Array(10).fill(true), ...Array(14).fill(false)], 'the ten overdue ones first');
  assert.match(await cards.first().locator('.badge.late').textContent(), /Te laat/);
  await axe(p, 'the work list');
  await p.screenshot({ path: join(ARTIFACTS, '23-taken.png'), fullPage: true });
  // Take the first new one in hand (the werkgroep may already have taken some
  // of the demo's reports in hand before assigning them; which, depends on the day).
  const takeable = cards.filter({ has: p.locator('[data-action=take_in_hand]') });
  assert.ok(await takeable.count() > 0, 'some of the assigned reports are new');
  const first = await takeable.first().getAttribute('data-incident');
  await takeable.first().locator('[data-action=take_in_hand]').click();
  await p.waitForFunction((id) => document.body.dataset.state === 'idle'
    && !document.querySelector(`article[data-incident="${id}"] [data-action=take_in_hand]`), first);
  assert.match(await p.locator(`article[data-incident="${first}"] .facts`).textContent(), /In behandeling/);
  // Handing back needs a note; with one, it leaves the list.
  const second = p.locator('article.work-item').nth(1);
  const id = await second.getAttribute('data-incident');
  await second.locator('[data-action=hand_back]').click();
  await second.locator('.message.error').waitFor();
  assert.match(await second.locator('.message.error').textContent(), /waarom/);
  await second.locator('textarea.note').fill('Particulier terrein, niet van de gemeente');
  await second.locator('[data-action=hand_back]').click();
  await p.waitForFunction((x) => document.body.dataset.state === 'idle' && !document.querySelector(`article[data-incident="${x}"]`), id);
  assert.equal(await p.locator('article.work-item').count(), 23);
  const history = (await get(p, `/incidents/${id}/follow-up`)).history.at(-1);
  assert.deepEqual([history.action, history.reason], ['hand_back', 'Particulier terrein, niet van de gemeente']);
  await own.close();
});

await test('a published area: the public overview without signing in, and nothing personal on it', async () => {
  const me = await get(page, '/me');
  const deventer = me.memberships.find((m) => m.area_name === 'Binnenstad Deventer');
  const info = await page.evaluate(async (id) => (await fetch(`/api/v1/areas/${id}/public-view`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-KVO-CSRF': '1' }, body: JSON.stringify({ enabled: true }),
  })).json(), deventer.area_id);
  assert.equal(info.enabled, true);
  const anon = await browser.newContext({ viewport: { width: 1000, height: 900 }, bypassCSP: true });
  const p = watch(await anon.newPage());
  await p.goto(`${server.url}/openbaar/?gebied=${info.slug}`);
  await ready(p);
  const view = await p.evaluate(async (s) => (await fetch(`/api/v1/public/${s}`)).json(), info.slug);
  assert.ok(view.analysis.totals.current > 100, 'the demo area has a year of reports');
  assert.equal(await p.evaluate(() => document.body.dataset.total), String(view.analysis.totals.current));
  assert.match(await p.locator('.total').textContent(), new RegExp(view.analysis.totals.current.toLocaleString('nl-NL').replace('.', '\\.')));
  assert.equal(await p.evaluate(() => Number(document.body.dataset.cells)), view.heatmap.features.length);
  assert.ok(view.heatmap.features.length > 0 && view.heatmap.features.every((f) => f.properties.count >= 3));
  assert.equal(await p.locator('table.themes tbody tr').count(), view.analysis.by_theme.length);
  assert.equal(await p.locator('table.categories tbody tr').count(), view.categories.length);
  assert.ok(view.categories.length > 5, 'the demo reports in many categories');
  const text = await p.locator('body').textContent();
  for (const secret of ['Beheerder demo', 'example.org', '/photos/']) assert.ok(!text.includes(secret), secret);
  assert.match(text, /Aantallen onder de 3/);
  await axe(p, 'the public overview');
  await p.screenshot({ path: join(ARTIFACTS, '24-openbaar.png'), fullPage: true });
  await anon.close();
});

await test('privacy and links: the retention with its dry run, the public view, an Open311 key, and the gemeente\'s endpoint refused outside the allowed hosts', async () => {
  await page.goto(`${server.url}/beheer/?area=${areaId}&tab=privacy`);
  await ready(page);
  assert.match(await page.locator('.dry-run').textContent(), /Nu zou verdwijnen: 0 meldingen/);
  await page.locator('input[name=months]').fill('12');
  await page.locator('form.retention button').click();
  await page.locator('.message.ok').waitFor();
  assert.equal((await get(page, `/areas/${areaId}/retention`)).months, 12);
  await page.locator('input[name=public]').check();
  await page.locator('form.public-view button').click();
  await page.locator('.public-link a').waitFor();
  assert.match(await page.locator('.public-link a').getAttribute('href'), /\/openbaar\/\?gebied=testgebied-oost$/);
  assert.equal((await get(page, `/areas/${areaId}/public-view`)).enabled, true);
  await page.locator('input[name=key-name]').fill('Buitendienst');
  await page.locator('form.api-key button').click();
  await page.locator('.api-key-value').waitFor();
  assert.match(await page.locator('.api-key-value').textContent(), /^kvo311_[0-9a-f]{64}$/);
  await page.locator('input[name=endpoint-url]').fill('https://meldingen.example.org/open311/v2');
  await page.locator('input[name=endpoint-key]').fill('geheim');
  await page.locator('textarea[name=endpoint-codes]').fill('kapotte_verlichting = LAMP');
  await page.locator('form.endpoint button').click();
  await page.locator('.message.error').waitFor();
  assert.match(await page.locator('.message.error').textContent(), /KVO_OPEN311_HOSTS/);
  assert.match(await page.locator('.endpoint-status').textContent(), /Nog niet ingesteld/);
  await axe(page, 'privacy and links');
  await page.screenshot({ path: join(ARTIFACTS, '25-beheer-privacy.png'), fullPage: true });
});

await context.close();
await phones.close();
await browser.close();
await server.stop();
done('beheer');
