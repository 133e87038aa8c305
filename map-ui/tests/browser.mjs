// The map UI in Debian's Chromium, driven by playwright-core, against a real
// `kvo serve --demo` (private PostGIS). Screenshots and the meeting view's PDF
// are kept in build/artifacts/map-ui/. Run by `./do test`.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { ARTIFACTS, JPEG, idle, launch, startServer, suite } from './harness.mjs';

const EMAIL = 'werkgroep@example.org';
const PASSWORD = 'demo-werkgroep-2026';
const XSS = '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> Ruit ingegooid';

const server = await startServer();
const browser = await launch();
const { test, done } = suite();

/** Heat-coloured pixels: far from the plain background and saturated (viridis), not the grey or black lines. */
function isHeat(r, g, b) {
  const bg = Math.abs(r - 0xee) + Math.abs(g - 0xf0) + Math.abs(b - 0xec);
  const sat = Math.max(r, g, b) - Math.min(r, g, b);
  return bg > 90 && sat > 60;
}
function heatStats(png, box) {
  const { width, data } = png;
  let inside = 0, insideTotal = 0, outside = 0, outsideTotal = 0;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const heat = isHeat(data[i], data[i + 1], data[i + 2]);
      const inBox = x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1;
      if (inBox) { insideTotal++; if (heat) inside++; } else { outsideTotal++; if (heat) outside++; }
    }
  }
  return { inside: inside / Math.max(1, insideTotal), outside: outside / Math.max(1, outsideTotal), heatPixels: inside + outside };
}
function heatAround(png, px, py, r = 6) {
  let n = 0, heat = 0;
  for (let y = Math.round(py) - r; y <= Math.round(py) + r; y++) for (let x = Math.round(px) - r; x <= Math.round(px) + r; x++) {
    if (x < 0 || y < 0 || x >= png.width || y >= png.height) continue;
    const i = (y * png.width + x) * 4; n++; if (isHeat(png.data[i], png.data[i + 1], png.data[i + 2])) heat++;
  }
  return heat / Math.max(1, n);
}

async function signedIn(context, path = '/') {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log('page error:', e.message));
  await page.goto(server.url + path);
  await page.waitForFunction(() => ['signin', 'idle'].includes(document.body?.dataset.state));
  if (await page.evaluate(() => document.body.dataset.state === 'signin')) {
    await page.getByLabel(/E-mailadres|Email/).fill(EMAIL);
    await page.getByLabel(/Wachtwoord|Password/).fill(PASSWORD);
    await page.getByRole('button', { name: /Inloggen|Sign in/ }).click();
  }
  return page;
}

/** A screenshot of the map without the overlays (legend, controls), decoded. */
async function mapShot(page, name) {
  const overlays = '.legend, .maplibregl-control-container';
  await page.evaluate((sel) => document.querySelectorAll(sel).forEach((e) => { e.style.visibility = 'hidden'; }), overlays);
  const buf = await page.locator('#map').screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  await page.evaluate((sel) => document.querySelectorAll(sel).forEach((e) => { e.style.visibility = ''; }), overlays);
  return PNG.sync.read(buf);
}

/** The area's bounding box on screen, relative to #map. */
async function areaBox(page) {
  return page.evaluate(async () => {
    const m = window.kvoMap;
    const area = new URLSearchParams(location.search).get('area');
    const a = await (await fetch(`/api/v1/areas/${area}`)).json();
    const xs = [], ys = [];
    const walk = (c) => (typeof c[0] === 'number' ? (() => { const p = m.project(c); xs.push(p.x); ys.push(p.y); })() : c.forEach(walk));
    walk(a.boundary.coordinates);
    return { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
  });
}

// A report with a photo and a hostile description, made by a phone.
const areaLine = server.kvo('area', 'list').split('\n').find((l) => l.includes('Binnenstad'));
const areaId = areaLine.split(/\s+/)[0];
const invite = server.kvo('invite', 'create', '--area', areaId, '--role', 'ondernemer', '--uses', '1').split(/\s+/)[0];
const device = await (await fetch(`${server.url}/api/v1/devices/redeem`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ code: invite, display_name: 'Browsertest' }) })).json();
const area = await (await fetch(`${server.url}/api/v1/areas/${areaId}`, { headers: { Authorization: `Bearer ${device.token}` } })).json();
const ring = area.boundary.type === 'Polygon' ? area.boundary.coordinates[0] : area.boundary.coordinates[0][0];
const centre = ring.slice(0, -1).reduce(([x, y], [a, b], _, all) => [x + a / all.length, y + b / all.length], [0, 0]);
const xssId = crypto.randomUUID();
{
  const res = await fetch(`${server.url}/api/v1/incidents`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${device.token}` },
    body: JSON.stringify({ id: xssId, area_id: areaId, category: 'vandalisme', location: { lat: centre[1], lon: centre[0], accuracy_m: 5 },
      occurred_at: new Date(Date.now() - 3_600_000).toISOString(), description: XSS }) });
  assert.equal(res.status, 201, await res.text());
  const photo = await fetch(`${server.url}/api/v1/incidents/${xssId}/photos/${crypto.randomUUID()}`, { method: 'PUT',
    headers: { 'Content-Type': 'image/jpeg', Authorization: `Bearer ${device.token}` }, body: JPEG });
  assert.ok(photo.status === 201 || photo.status === 200, await photo.text());
}

const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL' });
let page;

await test('sign in, choose the area, and the heatmap is drawn where the data is, with the basemap unreachable', async () => {
  page = await signedIn(context, `/?area=${areaId}&period=year`);
  await idle(page);
  assert.equal(await page.evaluate(() => document.body.dataset.basemap), 'unreachable', 'the basemap was tried and failed');
  assert.equal(await page.locator('[role=alert]:visible').count(), 0, 'no error on screen');
  const png = await mapShot(page, '01-map-year');
  const box = await areaBox(page);
  const s = heatStats(png, box);
  console.log(`     heat pixels: ${(s.inside * 100).toFixed(1)} % inside the area's box, ${(s.outside * 100).toFixed(2)} % outside`);
  assert.ok(s.inside > 0.1, 'the heatmap covers much of the area');
  assert.ok(s.outside < s.inside / 4, 'and little outside it');
  // The hottest cell of the server's answer is coloured on screen.
  const hottest = await page.evaluate(async () => {
    const fc = await (await fetch(`/api/v1${document.body.dataset.heat}`)).json();
    const top = fc.features.sort((a, b) => b.properties.weight - a.properties.weight)[0];
    const p = window.kvoMap.project(top.geometry.coordinates);
    return { x: p.x, y: p.y };
  });
  assert.ok(heatAround(png, hottest.x, hottest.y) > 0.8, 'the hottest cell is drawn');
  const count = Number((await page.locator('#total-count').textContent()).replace(/\D/g, ''));
  assert.ok(count > 100, `the count shows the year's reports (${count})`);
});

await test('a filter change changes the counts, the map and the URL', async () => {
  const before = Number((await page.locator('#total-count').textContent()).replace(/\D/g, ''));
  const seq = Number(await page.evaluate(() => document.body.dataset.renderSeq));
  const pngBefore = await mapShot(page, '02-before-filter');
  await page.getByRole('checkbox', { name: 'Schoon' }).check();
  await idle(page, seq);
  const after = Number((await page.locator('#total-count').textContent()).replace(/\D/g, ''));
  const pngAfter = await mapShot(page, '02-after-filter-schoon');
  assert.ok(after < before && after > 0, `count ${before} → ${after}`);
  let changed = 0;
  for (let i = 0; i < pngBefore.data.length; i += 4) if (Math.abs(pngBefore.data[i] - pngAfter.data[i]) + Math.abs(pngBefore.data[i + 1] - pngAfter.data[i + 1]) > 30) changed++;
  assert.ok(changed > 500, `the map changed (${changed} pixels)`);
  assert.match(page.url(), /dimension=schoon/);
  assert.match(await page.locator('#meeting-link').getAttribute('href'), /dimension=schoon.*view=meeting/, 'the meeting view of what is shown');
  // The link shows the same: a fresh page from the URL.
  const other = await context.newPage();
  await other.goto(page.url());
  await idle(other);
  assert.equal(Number((await other.locator('#total-count').textContent()).replace(/\D/g, '')), after);
  assert.ok(await other.getByRole('checkbox', { name: 'Schoon' }).isChecked());
  await other.close();
  await page.getByRole('checkbox', { name: 'Schoon' }).uncheck();
  await idle(page, seq + 1);
});

await test('the week slider shows one week at a time and plays', async () => {
  const all = Number((await page.locator('#total-count').textContent()).replace(/\D/g, ''));
  let seq = Number(await page.evaluate(() => document.body.dataset.renderSeq));
  const slider = page.getByRole('slider', { name: 'Week' });
  await slider.focus();
  await page.keyboard.press('Home');
  seq = await idle(page, seq);
  const week0 = Number((await page.locator('#total-count').textContent()).replace(/\D/g, ''));
  assert.ok(week0 < all, `one week (${week0}) is less than the year (${all})`);
  assert.match(page.url(), /week=0/);
  assert.match(await page.locator('#week-label').textContent(), /^Week \d{4}-\d{2}-\d{2}/);
  await page.getByRole('button', { name: 'Afspelen' }).click();
  await page.waitForFunction(() => /week=2\b/.test(location.search), null, { timeout: 30_000 });
  await page.getByRole('button', { name: 'Pauze' }).click();
  await slider.focus();
  await page.keyboard.press('End');
  await page.waitForFunction(() => !/week=/.test(location.search));
  await idle(page, seq);
  await page.waitForFunction((n) => Number(document.getElementById('total-count').textContent.replace(/\D/g, '')) === n, all);
});

await test('the popup shows the photo, and a hostile description stays text', async () => {
  const seq = Number(await page.evaluate(() => document.body.dataset.renderSeq));
  await page.evaluate(([lon, lat]) => window.kvoMap.jumpTo({ center: [lon, lat], zoom: 20 }), centre);
  await page.waitForFunction(() => window.kvoMap.loaded() && window.kvoMap.queryRenderedFeatures({ layers: ['incidents'] }).length > 0, null, { timeout: 30_000 });
  const at = await page.evaluate(([lon, lat]) => { const p = window.kvoMap.project([lon, lat]); return { x: p.x, y: p.y }; }, centre);
  await page.locator('#map canvas').click({ position: at });
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor();
  await assert.doesNotReject(popup.locator('img').evaluate((img) => img.decode()));
  assert.ok(await popup.locator('img').evaluate((img) => img.naturalWidth > 0), 'the thumbnail loaded');
  assert.equal(await popup.locator('.description').textContent(), XSS, 'shown as text');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'nothing ran');
  assert.equal(await page.locator('.maplibregl-popup img[src="x"], script:not([src])').count(), 0);
  await page.locator('#map').screenshot({ path: join(ARTIFACTS, '03-popup.png') });
  await popup.locator('button.thumb').click();
  const full = page.locator('dialog.photo img');
  await full.evaluate((img) => img.decode());
  assert.ok(await full.evaluate((img) => img.naturalWidth >= 96), 'the full photo');
  await page.screenshot({ path: join(ARTIFACTS, '04-photo.png') });
  await page.getByRole('button', { name: 'Sluiten' }).click();
  void seq;
});

await test('follow-up: the werkgroep takes an open incident in hand and comments', async () => {
  await page.locator('.maplibregl-popup button.follow-up').click();
  const dialog = page.locator('dialog.follow-up-dialog');
  await dialog.waitFor();
  await dialog.getByLabel('Reden').fill('Gemeente ingelicht');
  await dialog.locator('[data-action=take_in_hand]').click();
  await dialog.locator('h2', { hasText: 'In behandeling' }).waitFor();
  await dialog.getByLabel('Opmerking plaatsen').fill('<b>niet vet</b>');
  await dialog.locator('[data-action=comment]').click();
  await dialog.locator('.comments li', { hasText: '<b>niet vet</b>' }).waitFor();
  assert.equal(await dialog.locator('.comments b').count(), 0, 'comment text is not HTML');
  await page.screenshot({ path: join(ARTIFACTS, '05-follow-up.png') });
  await dialog.getByRole('button', { name: 'Sluiten' }).click();
  const res = await fetch(`${server.url}/api/v1/incidents/${xssId}`, { headers: { Authorization: `Bearer ${device.token}` } });
  assert.equal((await res.json()).status, 'in_behandeling');
});

await test('the analysis panel: hotspots fly to the spot, the hour grid and trend are drawn', async () => {
  await page.locator('#analysis table.themes').waitFor();
  assert.ok(await page.locator('#analysis table.grid td').count() === 7 * 24);
  assert.ok(await page.locator('#analysis svg.trend circle').count() > 10);
  // The demo seeds a weekend-night hotspot: it must be found, and the button must fly there.
  const hotspot = page.locator('button.hotspot').first();
  assert.ok(await hotspot.count() > 0, 'the seeded hotspot is significant');
  await hotspot.click();
  await page.waitForFunction(() => window.kvoMap.getZoom() > 16 && !window.kvoMap.isMoving(), null, { timeout: 15_000 });
  await page.screenshot({ path: join(ARTIFACTS, '06-analysis.png'), fullPage: true });
});

await test('the registers: lamp posts reported again and again are listed and flown to, hotspots and rows named by street', async () => {
  const api = (path) => page.evaluate(async (p) => (await fetch(`/api/v1${p}`)).json(), path);
  // The demo's Bergstraat post that kept failing; the list is the server's, in its order.
  const to = new Date().toLocaleDateString('sv-SE', { timeZone: 'Europe/Amsterdam' });
  const repeated = await api(`/areas/${areaId}/assets/repeated?to=${to}`);
  assert.ok(repeated.length > 0, 'the demo has a lamp post reported repeatedly');
  const items = page.locator('#analysis .repeated li');
  await items.first().waitFor();
  const r = repeated[0];
  assert.equal(await items.count(), Math.min(10, repeated.length));
  assert.equal(await items.first().textContent(),
    `Lichtmast ${r.external_id}${r.street ? ` (${r.street})` : ''}: ${r.reports} meldingen, ${r.open} open`);
  await items.first().locator('button').click();
  await page.waitForFunction(() => window.kvoMap.getZoom() > 16 && !window.kvoMap.isMoving() && window.kvoMap.loaded(), null, { timeout: 15_000 });
  // At street level the register's posts are drawn, that one among them, and the legend names them.
  await page.waitForFunction((id) => window.kvoMap.queryRenderedFeatures({ layers: ['assets'] }).some((f) => f.properties.label === id), r.external_id);
  assert.ok(await page.locator('.assets-legend').isVisible());
  await page.locator('#map').screenshot({ path: join(ARTIFACTS, '06b-lichtmasten.png') });
  // Hotspots carry the street the server named.
  const named = (await page.locator('button.hotspot').allTextContents()).filter((x) => /^Ga naar: [^:]+: \d/.test(x));
  assert.ok(named.length > 0, 'the Brink hotspot lies on a street');
  // The table names a lighting report's street and lamp post.
  const table = await context.newPage();
  const filter = `category=kapotte_verlichting&from=${new Date(Date.now() - 700 * 86_400_000).toISOString().slice(0, 10)}&sort=occurred_at&order=desc`;
  await table.goto(`${server.url}/tabel/?area=${areaId}&${filter}`);
  await table.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  const rows = await api(`/areas/${areaId}/incident-table?${filter}&page=0&page_size=50`);
  const first = rows.rows.find((x) => x.asset);
  assert.ok(first, 'a lighting report is linked to its post');
  assert.equal(await table.locator(`tr[data-id="${first.id}"] .place`).textContent(),
    [first.street, `Lichtmast ${first.asset.external_id}`].filter(Boolean).join(' · '));
  await table.close();
});

await test('the meeting view renders and prints to A4 landscape', async () => {
  const meeting = await context.newPage();
  await meeting.goto(`${server.url}/?area=${areaId}&period=quarter&view=meeting`);
  await meeting.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  assert.match(await meeting.locator('h1').textContent(), /Overlegoverzicht/);
  assert.ok(await meeting.locator('.m-open li').count() > 0, 'open items');
  assert.ok(await meeting.locator('.m-trend svg').count() === 1);
  await meeting.screenshot({ path: join(ARTIFACTS, '07-meeting.png'), fullPage: true });
  await meeting.emulateMedia({ media: 'print' });
  assert.equal(await meeting.locator('nav.no-print').isVisible(), false, 'controls are not printed');
  // No size asked for: the page's own CSS (@page) decides, as when a werkgroep member prints.
  const pdf = await meeting.pdf({ printBackground: true, preferCSSPageSize: true });
  writeFileSync(join(ARTIFACTS, 'meeting.pdf'), pdf);
  const text = pdf.toString('latin1');
  const pages = (text.match(/\/Type\s*\/Page[^s]/g) ?? []).length;
  assert.ok(pdf.length > 20_000 && pages >= 1 && pages <= 3, `${pages} pages, ${pdf.length} bytes`);
  const boxes = [...text.matchAll(/\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.ok(boxes.length >= 1, 'the PDF names its page size');
  for (const [w, h] of boxes) assert.ok(Math.abs(w - 841.9) < 2 && Math.abs(h - 595.3) < 2, `A4 landscape is 842 × 595 pt, got ${w} × ${h}`);
  await meeting.close();
});

await test('English, keyboard and a phone in portrait', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const noSideways = async (pg, what) => {
    const w = await pg.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
    assert.ok(w <= 390, `${what}: no sideways scrolling at 390 px (${w} px wide)`);
  };
  const signin = await phone.newPage();
  await signin.goto(`${server.url}/?lang=en`);
  await signin.waitForFunction(() => document.body?.dataset.state === 'signin');
  await noSideways(signin, 'the sign-in page');
  await signin.close();
  const p = await signedIn(phone, `/?area=${areaId}&lang=en`);
  await idle(p);
  await noSideways(p, 'the map');
  assert.equal(await p.locator('header h1').textContent(), 'KVO reports');
  await p.keyboard.press('Tab');
  const focused = await p.evaluate(() => document.activeElement?.tagName);
  assert.ok(['SELECT', 'A', 'BUTTON', 'INPUT'].includes(focused), `keyboard focus reaches a control (${focused})`);
  const unlabelled = await p.evaluate(() => [...document.querySelectorAll('input, select, textarea')].filter((e) => !e.labels?.length && !e.getAttribute('aria-label') && e.type !== 'hidden').length);
  assert.equal(unlabelled, 0, 'every control has a label');
  await p.screenshot({ path: join(ARTIFACTS, '08-phone-en.png'), fullPage: true });
  await p.goto(`${server.url}/?area=${areaId}&period=quarter&view=meeting&lang=en`);
  await p.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  await noSideways(p, 'the meeting view');
  await phone.close();
});

await test('the server sends a strict Content-Security-Policy and needs the CSRF header', async () => {
  const res = await fetch(server.url + '/');
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https:;/);
  const status = await page.evaluate(async () => (await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' })).status);
  assert.equal(status, 403, 'a cookie without the CSRF header is refused');
});

await test('the service worker shows a push as a notification', async () => {
  await context.grantPermissions(['notifications'], { origin: server.url });
  const swPage = await context.newPage();
  await swPage.goto(`${server.url}/?area=${areaId}`);
  await swPage.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await context.newCDPSession(swPage);
  const registration = new Promise((ok) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { const r = e.registrations.find((x) => x.scopeURL.startsWith('http://127.0.0.1')); if (r) ok(r.registrationId); }));
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registration;
  const message = { id: 'a-1', reason: 'urgent', area_id: areaId, incident_id: xssId, category: 'overval', status: 'nieuw', title: 'Spoed: Overval', body: 'Binnenstad', url: `/?incident=${xssId}` };
  for (let i = 0; i < 2; i++) await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data: JSON.stringify(message) });
  const shown = await swPage.waitForFunction(async () => {
    const n = await (await navigator.serviceWorker.ready).getNotifications();
    return n.length ? n.map((x) => ({ title: x.title, tag: x.tag })) : null;
  }, null, { timeout: 15_000 }).then((h) => h.jsonValue());
  assert.deepEqual(shown, [{ title: 'Spoed: Overval', tag: 'a-1' }], 'one notification for a repeated message');
  // The notification's link opens the incident.
  await swPage.goto(`${server.url}${message.url}`);
  await swPage.locator('dialog.follow-up-dialog .description').waitFor();
  assert.equal(await swPage.locator('dialog.follow-up-dialog .description').textContent(), XSS);
  await swPage.close();
});

/** The ISO week label (`2026-W48`) of a date. */
function isoWeek(d) {
  const day = 86_400_000;
  const utc = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const thursday = new Date(utc + (3 - ((new Date(utc).getUTCDay() + 6) % 7)) * day);
  const year = thursday.getUTCFullYear();
  return `${year}-W${String(1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * day))).padStart(2, '0')}`;
}

/** Pixels of a screenshot within `tolerance` of an RGB colour. */
function pixelsNear(png, [r, g, b], tolerance = 40) {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b) < tolerance) n++;
  }
  return n;
}

await test('the rounds: a week against the agreement, and a round report with its route, printed on A4', async () => {
  const page = await signedIn(context);
  await page.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  const label = isoWeek(new Date(Date.now() - 7 * 86_400_000));
  await page.goto(`${server.url}/rondes/?area=${areaId}&week=${label}`);
  await page.waitForFunction(() => ['idle', 'error'].includes(document.body?.dataset.state), null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'idle');
  assert.equal(await page.locator('table.nights tbody tr').count(), 7, 'seven nights');
  // The page says what the API says.
  const monday = await page.evaluate((l) => {
    const [y, w] = l.split('-W').map(Number);
    const jan4 = Date.UTC(y, 0, 4);
    return new Date(jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000 + (w - 1) * 7 * 86_400_000).toISOString().slice(0, 10);
  }, label);
  const sunday = new Date(Date.parse(monday) + 6 * 86_400_000).toISOString().slice(0, 10);
  const api = await page.evaluate(async (q) => (await fetch(`/api/v1/areas/${q.areaId}/rounds/compliance?from=${q.monday}&to=${q.sunday}`)).json(), { areaId, monday, sunday });
  const week = api.agreements[0].weeks[0];
  const summary = await page.locator('.agreement .summary').first().textContent();
  assert.ok(summary.startsWith(`${week.rounds_walked} van ${week.rounds_required} rondes gelopen`), summary);
  assert.ok(summary.includes(`${week.nights_met} van 7 nachten`), summary);
  const unmet = await page.locator('table.nights tbody tr.unmet').count();
  assert.equal(unmet, api.agreements[0].nights.filter((n) => !n.met).length);
  await page.screenshot({ path: join(ARTIFACTS, '10-rondes-week.png'), fullPage: true });

  // One round's report: its route on the map, its checkpoints, as the API has them.
  const round = api.agreements[0].nights.flatMap((n) => n.rounds).find((x) => x.status === 'complete');
  await Promise.all([page.waitForURL(/patrol=/), page.locator(`a[href*="patrol=${round.patrol_id}"]`).first().click()]);
  await page.waitForFunction(() => ['idle', 'error'].includes(document.body?.dataset.state) && location.search.includes('patrol='), null, { timeout: 60_000 });
  const report = await page.evaluate(async (id) => (await fetch(`/api/v1/patrols/${id}/report`)).json(), round.patrol_id);
  assert.equal(await page.locator('#hit').textContent(), `${report.checkpoints_hit.length} / ${report.checkpoints_hit.length + report.checkpoints_missed.length}`);
  assert.equal(await page.locator('table.scans tbody tr').count(), report.scans.length);
  assert.equal(Number(await page.evaluate(() => document.body.dataset.routePoints)), report.patrol.route.coordinates.length);
  const shot = PNG.sync.read(await page.locator('#patrol-map').screenshot({ path: join(ARTIFACTS, '11-rondeverslag-kaart.png') }));
  assert.ok(pixelsNear(shot, [0x00, 0x57, 0xa3]) > 300, 'the route is drawn');
  assert.ok(pixelsNear(shot, [0x00, 0x9e, 0x73]) > 50, 'the visited checkpoints are drawn');
  await page.emulateMedia({ media: 'print' });
  const pdf = await page.pdf({ printBackground: true, preferCSSPageSize: true });
  writeFileSync(join(ARTIFACTS, 'rondeverslag.pdf'), pdf);
  const boxes = [...pdf.toString('latin1').matchAll(/\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.ok(boxes.length >= 1 && boxes.every(([w, h]) => Math.abs(w - 595.3) < 2 && Math.abs(h - 841.9) < 2), `A4 portrait: ${JSON.stringify(boxes)}`);
  await page.close();
});

await test('the incident table: sorted, filtered, paged, exported, and two reports assigned at once', async () => {
  const page = await signedIn(context);
  await page.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  await Promise.all([page.waitForURL(/\/tabel\//), page.locator('#table-link').click()]);
  const ready = () => page.waitForFunction(() => ['idle', 'error'].includes(document.body?.dataset.state), null, { timeout: 30_000 });
  await ready();
  const apiTable = (q) => page.evaluate(async (query) => (await fetch(`/api/v1/areas/${document.body.dataset.area}/incident-table?${query}`)).json(), q);
  const first = await apiTable('page_size=50');
  assert.equal(Number(await page.evaluate(() => document.body.dataset.total)), first.total);
  assert.ok(first.total > 50, `more than a page: ${first.total}`);
  assert.equal(await page.locator('table.incidents tbody tr').count(), 50);
  // Sorted by category (descending first), as the API sorts.
  await Promise.all([page.waitForURL(/sort=category/), page.locator('button.sort[data-sort=category]').click()]);
  await ready();
  assert.equal(await page.locator('th[aria-sort=descending] button[data-sort=category]').count(), 1);
  const sorted = await apiTable('sort=category&order=desc&page_size=50');
  assert.deepEqual(await page.locator('table.incidents tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.id)), sorted.rows.map((r) => r.id));
  // Filtered on status: every row says so, the pager counts the same.
  await page.locator('select[name=status]').selectOption('nieuw');
  await Promise.all([page.waitForURL(/status=nieuw/), page.getByRole('button', { name: 'Toepassen' }).click()]);
  await ready();
  const filtered = await apiTable('status=nieuw&sort=category&order=desc&page_size=50');
  const statuses = await page.locator('table.incidents tbody tr td:nth-child(5)').allTextContents();
  assert.ok(statuses.length > 0 && statuses.every((x) => x === 'Nieuw'), statuses.join());
  assert.match(await page.locator('.page-info').textContent(), new RegExp(`${filtered.total} meldingen`));
  // The export is the filtered set.
  const href = await page.locator('a.export-csv').getAttribute('href');
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  assert.equal(csv.trim().split('\r\n').length - 1, filtered.total, 'one CSV line per row of the table');
  await page.screenshot({ path: join(ARTIFACTS, '12-tabel.png'), fullPage: true });
  // Two at once to the politie.
  const ids = await page.locator('table.incidents tbody tr').evaluateAll((rows) => rows.slice(0, 2).map((r) => r.dataset.id));
  for (const id of ids) await page.locator(`tr[data-id="${id}"] input[type=checkbox]`).check();
  assert.match(await page.locator('.bulk .count').textContent(), /2 geselecteerd/);
  await page.locator('select[name=bulk-org]').selectOption('politie');
  await Promise.all([page.waitForEvent('load'), page.locator('button.bulk-assign').click()]);
  await ready();
  for (const id of ids) {
    const f = await page.evaluate(async (x) => (await fetch(`/api/v1/incidents/${x}/follow-up`)).json(), id);
    assert.equal(f.assigned_to, 'politie');
  }
  // The next page.
  if (filtered.total > 50) {
    await Promise.all([page.waitForURL(/page=1/), page.locator('button.next').click()]);
    await ready();
    assert.match(await page.locator('.page-info').textContent(), /^Pagina 2 van/);
  }
  await page.close();
});

await test('the region view: every area together, the heatmap across them and the table adding up', async () => {
  const page = await signedIn(context);
  await page.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  await Promise.all([page.waitForURL(/\/regio\//), page.locator('#area').selectOption('alle')]);
  await page.waitForFunction(() => ['idle', 'error'].includes(document.body?.dataset.state), null, { timeout: 60_000 });
  assert.equal(await page.evaluate(() => document.body.dataset.state), 'idle');
  const overview = await page.evaluate(async () => (await fetch('/api/v1/region/areas')).json());
  const heat = await page.evaluate(async () => (await fetch('/api/v1/region/heatmap')).json());
  assert.equal(await page.locator('table.region tbody tr').count(), overview.areas.length);
  assert.ok(overview.areas.length >= 2, 'the demo werkgroep is in both demo areas');
  assert.equal(overview.areas.reduce((n, a) => n + a.current, 0), heat.total, 'the table adds up to the heatmap');
  assert.ok(heat.features.length > 0 && Number(await page.evaluate(() => document.body.dataset.cells)) === heat.features.length);
  const shot = PNG.sync.read(await page.locator('#region-map').screenshot({ path: join(ARTIFACTS, '13-regio.png') }));
  let coloured = 0;
  for (let i = 0; i < shot.data.length; i += 4) if (isHeat(shot.data[i], shot.data[i + 1], shot.data[i + 2])) coloured++;
  assert.ok(coloured > 200, `cells drawn: ${coloured} coloured pixels`);
  // A click into one area opens its map.
  await Promise.all([page.waitForURL(/\/\?area=/), page.locator('table.region tbody tr a').first().click()]);
  await page.close();
});

await test('push preferences: the urgent categories offered ticked, the choice saved', async () => {
  const page = await signedIn(context);
  await page.waitForFunction(() => document.body?.dataset.state === 'idle', null, { timeout: 60_000 });
  const area = await page.evaluate(() => new URLSearchParams(location.search).get('area'));
  await page.locator('#notify').click();
  const dialog = page.locator('dialog.push-dialog');
  await dialog.waitFor();
  const cats = await page.evaluate(async (a) => (await (await fetch(`/api/v1/areas/${a}/categories`)).json()).categories, area);
  const urgentCodes = cats.filter((c) => c.urgent).map((c) => c.code).sort();
  const ticked = await dialog.locator('input[name=push-category]:checked').evaluateAll((l) => l.map((i) => i.value).sort());
  assert.deepEqual(ticked, urgentCodes, 'nothing chosen yet: the urgent categories are offered');
  assert.ok(urgentCodes.length > 0);
  await dialog.locator('input[name=push-category][value=kapotte_verlichting]').check();
  await dialog.locator('#push-on-duty').check();
  await dialog.locator('#push-save').click();
  await dialog.locator('.push-status', { hasText: 'Opgeslagen.' }).waitFor();
  const prefs = await page.evaluate(async (a) => (await fetch(`/api/v1/areas/${a}/push/preferences`)).json(), area);
  assert.deepEqual([...prefs.new_categories].sort(), [...urgentCodes, 'kapotte_verlichting'].sort());
  assert.equal(prefs.on_duty, true);
  await page.close();
});

await test('the analysis panel compares with the nul-meting and narrows to a zone', async () => {
  const page = await signedIn(context);
  await page.waitForFunction(() => document.body?.dataset.state === 'idle' && document.body.dataset.panels === 'ready', null, { timeout: 60_000 });
  const area = await page.evaluate(() => new URLSearchParams(location.search).get('area'));
  const q = await page.evaluate(() => { const p = new URL(document.body.dataset.heat, location.origin).searchParams; return `from=${p.get('from')}&to=${p.get('to')}`; });
  const fmt = (n) => n.toLocaleString('nl-NL');
  // The nul-meting instead of the previous period.
  await page.locator('#analysis-compare').selectOption('baseline');
  await page.waitForFunction(() => document.body.dataset.panels === 'ready' && document.querySelector('#analysis-compare')?.value === 'baseline');
  const base = await page.evaluate(async ([a, qs]) => (await fetch(`/api/v1/areas/${a}/analysis?${qs}&compare=baseline`)).json(), [area, q]);
  assert.equal(base.comparison_kind, 'baseline');
  const caption = await page.locator('#analysis table.themes caption').textContent();
  assert.ok(caption.includes(fmt(base.totals.comparison)), `${caption} vs ${base.totals.comparison}`);
  // One zone: the table's total is that zone's.
  const zone = await page.locator('#analysis-zone option').nth(1).getAttribute('value');
  await page.locator('#analysis-zone').selectOption(zone);
  const inZone = base.by_zone.filter((r) => r.zone_id === zone).reduce((n, r) => n + (r.current ?? 0), 0);
  assert.ok(inZone > 0);
  assert.match(await page.locator('#analysis table.themes caption').textContent(), new RegExp(`^Totaal: ${fmt(inZone)} `));
  await page.close();
});

await test("the map's rounds layers: routes, checkpoints by hit rate, and coverage against risk", async () => {
  const page = await signedIn(context, `/?area=${areaId}`);
  await idle(page);
  await page.locator('#layer-routes').check();
  await page.locator('#layer-coverage').check();
  await page.waitForFunction(() => document.body?.dataset.patrolLayer === 'ready', null, { timeout: 60_000 });
  const q = await page.evaluate(() => new URL(document.body.dataset.heat, location.origin).searchParams.toString());
  const period = Object.fromEntries(new URLSearchParams(q));
  const fetched = (path) => page.evaluate(async (p) => (await fetch(`/api/v1${p}`)).json(), path);
  const routes = await fetched(`/areas/${areaId}/patrols?from=${period.from}&to=${period.to}`);
  const coverage = await fetched(`/areas/${areaId}/coverage?from=${period.from}&to=${period.to}`);
  const data = await page.evaluate(() => ({ ...document.body.dataset }));
  assert.ok(routes.features.length > 20, `a month of demo rounds: ${routes.features.length}`);
  assert.equal(Number(data.routes), routes.features.length);
  assert.equal(Number(data.coverageCells), coverage.features.length);
  assert.equal(Number(data.checkpointsShown), 6);
  assert.ok(coverage.features.some((f) => f.properties.unreached), 'the demo has incidents no round reached');
  assert.match(await page.locator('#patrol-status').textContent(), new RegExp(`${coverage.incidents_unreached} van ${coverage.incidents} meldingen`));
  const shot = await mapShot(page, '12-rondes-dekking');
  assert.ok(pixelsNear(shot, [0xd5, 0x5e, 0x00], 90) > 200, 'unreached cells stand out');
  // One part of the day: the night's cells, as the API counts them.
  await page.locator('#coverage-band').selectOption('nacht');
  await page.waitForFunction(() => document.body?.dataset.patrolLayer === 'ready', null, { timeout: 60_000 });
  const night = await fetched(`/areas/${areaId}/coverage?from=${period.from}&to=${period.to}&band=nacht`);
  await page.waitForFunction((n) => Number(document.body?.dataset.coverageCells) === n, night.features.length, { timeout: 10_000 });
  await page.close();
});

await browser.close();
await server.stop();
done(`map (screenshots in ${ARTIFACTS})`);
