// The reporting app (/melden/) in Debian's Chromium with mobile emulation,
// driven by playwright-core, against a real `kvo serve --demo`. Run by `./do test`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { JPEG, launch, startServer, suite } from './harness.mjs';

const server = await startServer();
const browser = await launch();
const { test, done } = suite();

const areaId = server.kvo('area', 'list').split('\n').find((l) => l.includes('Binnenstad')).split(/\s+/)[0];
const invite = (role, uses = 1) => server.kvo('invite', 'create', '--area', areaId, '--role', role, '--uses', String(uses)).split(/\s+/)[0];
async function redeem(role) {
  const res = await fetch(`${server.url}/api/v1/devices/redeem`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: invite(role), display_name: `test ${role}` }) });
  return (await res.json()).token;
}
async function apiGet(token, path) {
  const res = await fetch(`${server.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.ok(res.ok, `${path}: ${res.status}`);
  return res.json();
}
const werkgroep = await redeem('werkgroep');
const area = await apiGet(werkgroep, `/areas/${areaId}`);
const ring = area.boundary.type === 'Polygon' ? area.boundary.coordinates[0] : area.boundary.coordinates[0][0];
const [lon, lat] = ring.slice(0, -1).reduce(([x, y], [a, b], _, all) => [x + a / all.length, y + b / all.length], [0, 0]);
const AXE = readFileSync(join(import.meta.dirname, '../node_modules/axe-core/axe.min.js'), 'utf8');

/** A phone: 360 px wide, touch, Dutch, with a location. */
// bypassCSP: axe-core is injected as an inline script; the app itself runs under the server's CSP.
const PHONE = { bypassCSP: true, viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'nl-NL', timezoneId: 'Europe/Amsterdam' };
async function phone({ geo = { latitude: lat, longitude: lon, accuracy: 12 }, dir } = {}) {
  const opts = { ...PHONE, ...(geo ? { geolocation: geo, permissions: ['geolocation'] } : {}) };
  const context = dir
    ? await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'], ...opts })
    : await browser.newContext(opts);
  return context;
}
function watch(page) {
  page.on('pageerror', (e) => console.log('page error:', e.message));
  // Warnings and errors of the page, except the offline tests' expected failed loads.
  page.on('console', (m) => {
    if ((m.type() === 'warning' || m.type() === 'error') && !m.text().includes('ERR_INTERNET_DISCONNECTED')) console.log(`console ${m.type()}:`, m.text());
  });
  return page;
}
/** Opens the app with an invite link (as from the QR code) and joins. */
async function joined(context, role = 'ondernemer') {
  const page = watch(await context.newPage());
  await page.goto(`${server.url}/melden/#code=${invite(role)}`);
  await page.waitForFunction(() => document.body?.dataset.screen === 'join');
  await page.getByLabel('Uw naam').fill(`test ${role} app`);
  await page.getByRole('button', { name: 'Aanmelden' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  return page;
}
async function token(page) {
  return page.evaluate(() => new Promise((ok, fail) => {
    const r = indexedDB.open('kvo-melden');
    r.onsuccess = () => { const g = r.result.transaction('kv').objectStore('kv').get('session'); g.onsuccess = () => ok(g.result?.token ?? null); g.onerror = fail; };
    r.onerror = fail;
  }));
}
/** The prepared photos waiting in the app's IndexedDB: the bytes that will be sent. */
async function storedPhotos(page) {
  const all = await page.evaluate(() => new Promise((ok, fail) => {
    const r = indexedDB.open('kvo-melden');
    r.onsuccess = () => {
      const g = r.result.transaction('photos').objectStore('photos').getAll();
      g.onsuccess = async () => ok(await Promise.all(g.result.map(async (b) => Array.from(new Uint8Array(await b.arrayBuffer())))));
      g.onerror = fail;
    };
  }));
  return all.map((bytes) => Buffer.from(bytes));
}
async function axe(page, screen) {
  await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }));
  const v = r.violations.map((x) => `${x.id}: ${x.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  assert.deepEqual(v, [], `axe on ${screen}`);
}
async function waitingCount(page) { return Number(await page.locator('#outbox-status').getAttribute('data-waiting')); }
async function mine(tok) { return (await apiGet(tok, `/incidents?mine=true&area_id=${areaId}&limit=500`)).items; }
/** Fills and sends a report of `category` (by its Dutch label) from the home screen. */
async function report(page, category, { description, photo, fill, nearby = 'keep mine' } = {}) {
  await page.locator('.themes button.cat', { hasText: category }).first().click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'report');
  if (photo) {
    await page.locator('#gallery').setInputFiles({ name: 'foto.jpg', mimeType: 'image/jpeg', buffer: photo });
    await page.locator('.thumb img').last().waitFor({ timeout: 15_000 }).catch(async (e) => {
      const cached = await page.evaluate(async () => (await Promise.all((await caches.keys()).map(async (k) => (await (await caches.open(k)).keys()).map((r) => r.url)))).flat());
      console.log('thumb:', await page.locator('.thumb').last().textContent(), 'controlled:', await page.evaluate(() => !!navigator.serviceWorker.controller), 'cached:', cached.join(' '));
      throw e;
    });
  }
  if (description) await page.locator('#description').fill(description);
  if (fill) await fill(page);
  await page.locator('[data-fix]').waitFor();
  await page.locator('#send').click();
  await page.waitForFunction(() => !['report', 'loading'].includes(document.body?.dataset.screen));
  // Earlier tests reported nearby: "al gemeld in de buurt" may ask first.
  if (nearby === 'keep mine' && (await page.evaluate(() => document.body.dataset.screen === 'nearby'))) await page.locator('#not-same').click();
  if (nearby === 'keep mine') await page.waitForFunction(() => ['home', 'patrol'].includes(document.body?.dataset.screen));
}
/** The JPEG's pixel size, from its SOF marker. */
function jpegSize(buf) {
  let o = 2;
  while (o < buf.length) {
    const m = buf.readUInt16BE(o);
    if (m >= 0xffc0 && m <= 0xffc3) return { height: buf.readUInt16BE(o + 5), width: buf.readUInt16BE(o + 7) };
    o += 2 + buf.readUInt16BE(o + 2);
  }
  return null;
}
/** `JPEG` with an EXIF block: orientation 6 (turn 90° clockwise) and a GPS position. */
function withExif(base, gpsLat, gpsLon) {
  const t = Buffer.alloc(140);
  t.write('MM', 0, 'ascii'); t.writeUInt16BE(42, 2); t.writeUInt32BE(8, 4);
  t.writeUInt16BE(2, 8);
  t.writeUInt16BE(0x0112, 10); t.writeUInt16BE(3, 12); t.writeUInt32BE(1, 14); t.writeUInt16BE(6, 18);
  t.writeUInt16BE(0x8825, 22); t.writeUInt16BE(4, 24); t.writeUInt32BE(1, 26); t.writeUInt32BE(38, 30);
  t.writeUInt32BE(0, 34);
  t.writeUInt16BE(4, 38);
  const entry = (at, tag, type, count, value) => { t.writeUInt16BE(tag, at); t.writeUInt16BE(type, at + 2); t.writeUInt32BE(count, at + 4); value(at + 8); };
  entry(40, 1, 2, 2, (v) => t.write('N\0', v, 'ascii'));
  entry(52, 2, 5, 3, (v) => t.writeUInt32BE(92, v));
  entry(64, 3, 2, 2, (v) => t.write('E\0', v, 'ascii'));
  entry(76, 4, 5, 3, (v) => t.writeUInt32BE(116, v));
  t.writeUInt32BE(0, 88);
  const dms = (at, x) => {
    const d = Math.floor(x), m = Math.floor((x - d) * 60), s = Math.round(((x - d) * 60 - m) * 60 * 1000);
    [[d, 1], [m, 1], [s, 1000]].forEach(([n, q], i) => { t.writeUInt32BE(n, at + i * 8); t.writeUInt32BE(q, at + i * 8 + 4); });
  };
  dms(92, gpsLat); dms(116, gpsLon);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.alloc(2), Buffer.from('Exif\0\0', 'latin1'), t]);
  app1.writeUInt16BE(app1.length - 2, 2);
  return Buffer.concat([base.subarray(0, 2), app1, base.subarray(2)]);
}

// ------------------------------------------------------------------ tests

await test('the manifest is valid and the app is installable', async () => {
  const m = await (await fetch(`${server.url}/melden/manifest.webmanifest`)).json();
  assert.equal(m.display, 'standalone');
  assert.equal(m.start_url, '/melden/');
  assert.equal(m.scope, '/melden/');
  assert.ok(m.name && m.short_name && m.theme_color);
  for (const [size, purpose] of [['192x192', 'any'], ['512x512', 'any'], ['512x512', 'maskable']]) {
    const icon = m.icons.find((i) => i.sizes === size && i.purpose === purpose);
    assert.ok(icon, `${size} ${purpose}`);
    const png = Buffer.from(await (await fetch(server.url + icon.src)).arrayBuffer());
    assert.equal(png.readUInt32BE(16), Number(size.split('x')[0]), `${icon.src} is ${size}`);
  }
  const context = await phone({ dir: mkdtempSync(join(tmpdir(), 'kvo-phone-')) }); // not incognito
  const page = await joined(context);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await context.newCDPSession(page);
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);
  const manifest = await cdp.send('Page.getAppManifest');
  assert.deepEqual(manifest.errors, []);
  await context.close();
});

await test('join from a QR link: the device token is kept, every screen passes axe', async () => {
  // The link the beheerder prints (with its QR code) is what the phone opens.
  const qr = join(tmpdir(), `invite-${Date.now()}.svg`);
  const printed = server.kvo('invite', 'create', '--area', areaId, '--role', 'ondernemer', '--qr', qr).split('\n');
  const link = new URL(printed[1]);
  assert.equal(link.hash, `#code=${printed[0].split(/\s+/)[0]}`);
  assert.match(readFileSync(qr, 'utf8'), /<svg/);
  const context = await phone();
  const page = watch(await context.newPage());
  await page.goto(`${server.url}${link.pathname}${link.hash}`);
  await page.waitForFunction(() => document.body?.dataset.screen === 'join');
  await axe(page, 'join');
  // English on request, the code kept; and back to Dutch.
  await page.locator('#language').click();
  assert.equal(await page.locator('#join-title').textContent(), 'Join with an invitation');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await page.locator('#code').inputValue(), printed[0].split(/\s+/)[0]);
  await axe(page, 'join (English)');
  await page.locator('#language').click();
  await page.getByLabel('Uw naam').fill('Bakkerij de Korrel');
  await page.getByRole('button', { name: 'Aanmelden' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  assert.equal(new URL(page.url()).hash, '', 'the used code leaves the address bar');
  const tok = await token(page);
  assert.match(tok, /^.{20,}$/);
  assert.equal((await apiGet(tok, '/me')).display_name, 'Bakkerij de Korrel');
  await axe(page, 'home');
  assert.ok(await page.locator('.spoed').isVisible(), 'urgent categories under "Spoed"');
  assert.ok(await page.locator('.spoed a[href="tel:112"]').isVisible());
  await page.locator('.themes button.cat', { hasText: 'Diefstal' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'report');
  await page.locator('[data-fix]').waitFor();
  await axe(page, 'report');
  await page.getByRole('button', { name: 'Annuleren' }).click();
  await page.getByRole('button', { name: 'Mijn meldingen' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'mine');
  await axe(page, 'mine');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no sideways scrolling at 360 px (${width})`);
  await page.getByRole('button', { name: 'Terug' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Afmelden' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'join');
  assert.equal(await token(page), null, 'signing out forgets the token');
  const res = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${tok}` } });
  assert.equal(res.status, 401, 'and revokes it');
  await context.close();
});

await test('a photo with EXIF GPS and orientation: the bytes sent carry no EXIF and stand upright; its position is offered without a fix', async () => {
  const context = await phone({ geo: null });
  const page = await joined(context);
  const photo = withExif(JPEG, lat + 0.0001, lon + 0.0001);
  assert.equal(jpegSize(photo).width, 96);
  await page.locator('.themes button.cat', { hasText: 'Graffiti' }).click();
  await page.locator('#gallery').setInputFiles({ name: 'foto.jpg', mimeType: 'image/jpeg', buffer: photo });
  await page.locator('.thumb img').waitFor();
  await page.locator('#use-photo-pos').click();
  await page.locator('[data-fix=photo]').waitFor();
  await context.setOffline(true); // to read what will be sent before it goes
  await page.locator('#send').click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  const stored = await storedPhotos(page);
  assert.equal(stored.length, 1);
  const sent = stored[0];
  const digests = [];
  const statuses = [];
  // Context-wide: the page or the service worker (Background Sync) may send it again.
  context.on('response', (r) => { if (r.request().method() === 'PUT' && r.url().includes('/photos/')) statuses.push(r.status()); });
  // The first upload arrives damaged (its bytes no longer match the digest, as over a bad link): 400, sent again.
  let damage = true;
  await context.route('**/photos/**', async (route) => {
    const headers = route.request().headers();
    digests.push(headers['content-digest']);
    if (!damage) return route.continue();
    damage = false;
    return route.continue({ headers: { ...headers, 'content-digest': `sha-256=:${createHash('sha256').update('iets anders').digest('base64')}:` } });
  });
  await context.setOffline(false);
  await page.evaluate(() => dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  assert.equal(sent.indexOf(Buffer.from('Exif')), -1, 'no EXIF leaves the phone');
  assert.deepEqual(jpegSize(sent), { width: 72, height: 96 }, 'orientation applied');
  const [inc] = await mine(await token(page));
  assert.equal(inc.photos.length, 1);
  assert.equal(inc.photos[0].upload_sha256, createHash('sha256').update(sent).digest('hex'));
  assert.deepEqual(statuses, [400, 201], 'refused when damaged, stored when sent again');
  assert.equal(digests.length, 2);
  assert.ok(digests.every((d) => d === `sha-256=:${createHash('sha256').update(sent).digest('base64')}:`), 'Content-Digest of the bytes sent');
  assert.ok(Math.abs(inc.location.lat - (lat + 0.0001)) < 1e-5, 'the photo’s position was used');
  await context.close();
});

await test('a large photo taken sideways is turned upright and brought to 1600 px', async () => {
  const context = await phone();
  const page = await joined(context);
  // 2400 × 1800 as the camera stored it, EXIF orientation 6 (to be turned a quarter clockwise).
  const big = withExif(Buffer.from(await page.evaluate(async () => {
    const c = new OffscreenCanvas(2400, 1800);
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 2400, 1800);
    grad.addColorStop(0, '#d55e00'); grad.addColorStop(1, '#0072b2');
    g.fillStyle = grad; g.fillRect(0, 0, 2400, 1800);
    g.fillStyle = '#000'; g.fillRect(0, 0, 300, 300); // the top-left corner, to find it again
    return Array.from(new Uint8Array(await (await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })).arrayBuffer()));
  })), lat, lon);
  assert.deepEqual(jpegSize(big), { width: 2400, height: 1800 });
  await context.setOffline(true);
  await report(page, 'Zwerfvuil', { photo: big });
  const [out] = await storedPhotos(page);
  assert.deepEqual(jpegSize(out), { width: 1200, height: 1600 }, 'upright, long side 1600');
  // Turned clockwise, the black corner is now top right.
  const corner = await page.evaluate(async (bytes) => {
    const bm = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
    const c = new OffscreenCanvas(bm.width, bm.height); const g = c.getContext('2d'); g.drawImage(bm, 0, 0);
    const px = (x, y) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
    return { topRight: px(bm.width - 20, 20), topLeft: px(20, 20) };
  }, Array.from(out));
  assert.ok(corner.topRight.every((c) => c < 40), `top right is black: ${corner.topRight}`);
  assert.ok(corner.topLeft.some((c) => c > 80), `top left is not: ${corner.topLeft}`);
  await context.close();
});

await test('geolocation: a good fix shows its accuracy; a poor one offers waiting or the pin', async () => {
  const context = await phone({ geo: { latitude: lat, longitude: lon, accuracy: 9 } });
  const page = await joined(context);
  await page.locator('.themes button.cat', { hasText: 'Zwerfvuil' }).click();
  await page.locator('[data-fix=gps]').waitFor();
  assert.match(await page.locator('#location').textContent(), /nauwkeurig tot 9 m/);
  await page.evaluate(() => {
    window.__shift = 0;
    window.__shifted = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) { window.__shift += e.value; window.__shifted.push(...e.sources.map((s) => `${s.node?.nodeName}.${s.node?.className} ${JSON.stringify(s.previousRect)}→${JSON.stringify(s.currentRect)}`)); } }).observe({ type: 'layout-shift' });
  });
  await page.locator('#gallery').setInputFiles({ name: 'foto.jpg', mimeType: 'image/jpeg', buffer: JPEG });
  await page.locator('.thumb img').waitFor();
  await page.waitForTimeout(300);
  // Without the reserved photo row, the content below jumps 96 px: a shift of about 0.06. A line of the
  // location text re-rendered by a late GPS fix can move things by a few pixels (< 0.01); that is tolerated.
  const shift = await page.evaluate(() => window.__shift);
  assert.ok(shift < 0.01, `layout shift ${shift} while the photo is prepared: ${await page.evaluate(() => window.__shifted.join('; '))}`);
  assert.equal(await page.locator('#poor-fix').count(), 0);
  await page.getByRole('button', { name: 'Annuleren' }).click();
  await context.setGeolocation({ latitude: lat, longitude: lon, accuracy: 350 });
  const poor = await context.newPage();
  await poor.goto(`${server.url}/melden/`);
  await poor.waitForFunction(() => document.body?.dataset.screen === 'home');
  await poor.locator('.themes button.cat', { hasText: 'Zwerfvuil' }).click();
  await poor.locator('#poor-fix').waitFor();
  assert.ok(await poor.locator('#wait-fix').isVisible());
  await poor.locator('#place-pin').click();
  await poor.waitForFunction(() => document.body?.dataset.pinMap === 'ready', null, { timeout: 30_000 });
  await poor.locator('[data-fix=pin]').waitFor();
  await axe(poor, 'report with the pin map');
  await context.close();
});

await test('offline: three reports survive a reload from the service worker, then arrive exactly once', async () => {
  const context = await phone();
  const page = await joined(context);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload(); // now controlled by the service worker
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  await context.setOffline(true);
  for (const d of ['een', 'twee', 'drie']) {
    await report(page, 'Zwerfvuil', { description: `offline ${d}`, photo: JPEG });
    await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  }
  assert.equal(await waitingCount(page), 3);
  assert.match(await page.locator('#outbox-status').textContent(), /3 meldingen wachten op verbinding/);
  await page.reload(); // offline: the app shell comes from the service worker
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  assert.equal(await waitingCount(page), 3, 'still queued after the reload');
  await context.setOffline(false);
  await page.evaluate(() => dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 60_000 });
  const items = await mine(await token(page));
  assert.equal(items.length, 3, 'each exactly once');
  assert.deepEqual(items.map((i) => i.description).sort(), ['offline drie', 'offline een', 'offline twee']);
  assert.ok(items.every((i) => i.photos.length === 1));
  await context.close();
});

await test('503, then 429 with Retry-After: the app waits as told, then sends once', async () => {
  const context = await phone();
  const page = await joined(context);
  const attempts = [];
  // Context-wide, so that a send by the service worker (Background Sync) is held to the same answers.
  await context.route('**/api/v1/incidents', async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    attempts.push(Date.now());
    if (attempts.length === 1) return route.fulfill({ status: 503, contentType: 'application/problem+json', body: '{"title":"x"}' });
    if (attempts.length === 2) return route.fulfill({ status: 429, headers: { 'Retry-After': '3' }, contentType: 'application/problem+json', body: '{"title":"x"}' });
    return route.continue();
  });
  await report(page, 'Zwerfvuil', { description: 'na een storing' });
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  // After the 503 the backoff is at most a few seconds; "retry now" is the user's shortcut, not used here.
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 60_000 });
  assert.equal(attempts.length, 3);
  const gap = attempts[2] - attempts[1];
  assert.ok(gap >= 2900, `waited ${gap} ms after Retry-After: 3`);
  assert.equal((await mine(await token(page))).length, 1);
  await context.close();
});

await test('an urgent report overtakes the queue', async () => {
  const context = await phone();
  const page = await joined(context);
  await context.setOffline(true);
  await report(page, 'Zwerfvuil', { description: 'gewoon' });
  await page.locator('.spoed button.cat', { hasText: 'Overval' }).click();
  await page.locator('[data-fix]').waitFor();
  await page.locator('#send').click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  const order = [];
  context.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/v1/incidents')) order.push(JSON.parse(r.postData()).category); });
  await context.setOffline(false);
  await page.evaluate(() => dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  assert.deepEqual(order, ['overval', 'zwerfvuil']);
  await context.close();
});

await test('a 422 marks a report stuck with the reason; the others are sent; it can be fixed (photo kept) or deleted', async () => {
  const context = await phone();
  const page = await joined(context);
  await context.setOffline(true);
  await report(page, 'Zwerfvuil', { description: 'gaat goed 1' });
  await report(page, 'Leegstand', { description: 'categorie straks uit', photo: JPEG });
  await report(page, 'Leegstand', { description: 'weg ermee' });
  await report(page, 'Zwerfvuil', { description: 'gaat goed 2' });
  server.kvo('category', 'disable', '--area', areaId, 'leegstand');
  await new Promise((r) => setTimeout(r, 10_500)); // the server's area cache lives 10 s
  try {
    await context.setOffline(false);
    await page.evaluate(() => dispatchEvent(new Event('online')));
    await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.stuck === '2' && document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 60_000 });
    assert.match(await page.locator('.item.stuck').first().textContent(), /niet ingeschakeld/);
    assert.match(await page.locator('#outbox-status').textContent(), /2 meldingen zijn vastgelopen/);
    await axe(page, 'home with stuck reports');
    const tok = await token(page);
    assert.deepEqual((await mine(tok)).map((i) => i.description).sort(), ['gaat goed 1', 'gaat goed 2']);

    // Fix one: its category is gone, so another is chosen; what was typed and the photo are kept.
    await page.locator('.item.stuck', { hasText: 'categorie straks uit' }).getByRole('button', { name: 'Aanpassen' }).click();
    await page.locator('#toast', { hasText: 'Kies een categorie' }).waitFor();
    await page.locator('.themes button.cat', { hasText: 'Zwerfvuil' }).click();
    await page.waitForFunction(() => document.body?.dataset.screen === 'report');
    assert.equal(await page.locator('#description').inputValue(), 'categorie straks uit');
    assert.equal(await page.locator('.thumb img').count(), 1, 'the photo came along');
    await page.locator('[data-fix]').waitFor();
    await page.locator('#send').click();
    await page.waitForFunction(() => document.body?.dataset.screen !== 'report');
    if (await page.evaluate(() => document.body.dataset.screen === 'nearby')) await page.locator('#not-same').click();
    await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.stuck === '1' && document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
    const fixed = (await mine(tok)).find((i) => i.description === 'categorie straks uit');
    assert.ok(fixed, 'the fixed report arrived');
    assert.equal(fixed.category, 'zwerfvuil');
    assert.equal(fixed.photos.length, 1, 'with its photo');

    // Delete the other.
    page.once('dialog', (d) => d.accept());
    await page.locator('.item.stuck button.danger').click();
    await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.stuck === '0');
    assert.equal((await mine(tok)).length, 3, 'the deleted one never went');
  } finally {
    server.kvo('category', 'enable', '--area', areaId, 'leegstand');
  }
  await context.close();
});

await test('extra questions: required and validated in the app, stored on the server', async () => {
  const q = join(tmpdir(), `q-${Date.now()}.json`);
  writeFileSync(q, JSON.stringify([
    { code: 'aangifte', kind: 'yes_no', label_nl: 'Aangifte gedaan?', label_en: 'Reported?', required: true },
    { code: 'schade_euro', kind: 'number', label_nl: 'Schade in euro', label_en: 'Damage', min: 0, max: 100000 },
  ]));
  server.kvo('category', 'questions', '--area', areaId, 'diefstal', q);
  const context = await phone();
  const page = await joined(context);
  await page.locator('.themes button.cat', { hasText: 'Diefstal' }).click();
  await page.locator('[data-fix]').waitFor();
  await page.locator('#q-schade_euro').fill('-5');
  await page.locator('#send').click();
  assert.match(await page.locator('#form-error').textContent(), /Schade in euro: Vul een getal in/);
  await page.locator('#q-schade_euro').fill('120,50');
  await page.locator('#send').click();
  assert.match(await page.locator('#form-error').textContent(), /Aangifte gedaan\?: Beantwoord deze vraag/);
  assert.equal(await page.locator('#q-schade_euro').inputValue(), '120,50', 'nothing typed is lost');
  await page.locator('#q-aangifte').check();
  await page.locator('#send').click();
  await page.waitForFunction(() => document.body?.dataset.screen !== 'report');
  if (await page.evaluate(() => document.body.dataset.screen === 'nearby')) await page.locator('#not-same').click();
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const [inc] = await mine(await token(page));
  assert.deepEqual(inc.answers, { aangifte: true, schade_euro: 120.5 });
  writeFileSync(q, '[]');
  server.kvo('category', 'questions', '--area', areaId, 'diefstal', q);
  await context.close();
});

await test('broken lighting: the nearest lamp posts from the register are offered, and the chosen one is linked', async () => {
  const csv = join(tmpdir(), `masten-${Date.now()}.csv`);
  const north = (m) => lat + m / 111_320;
  writeFileSync(csv, `id,naam,lat,lon\nL-0412,bij de ingang,${north(8)},${lon}\nL-0413,,${north(-25)},${lon}\nL-0999,,${north(400)},${lon}\n`);
  server.kvo('register', 'import', '--area', areaId, '--kind', 'lichtmast', csv);
  writeFileSync(csv, `id,lat,lon\nB-1,${north(3)},${lon}\n`);
  server.kvo('register', 'import', '--area', areaId, '--kind', 'afvalbak', csv); // nearer, but no lamp post
  const context = await phone();
  const page = await joined(context);
  await page.locator('.themes button.cat', { hasText: 'Kapotte of slechte verlichting' }).click();
  await page.locator('#assets:not([hidden]) input[type=radio]').first().waitFor();
  const offered = await page.locator('#assets label').allTextContents();
  assert.equal(offered.length, 3, offered.join(' | '));
  assert.match(offered[0], /^ ?Lichtmast L-0412 · bij de ingang · 8 m/);
  assert.match(offered[1], /^ ?Lichtmast L-0413 · 25 m/);
  assert.match(offered[2], /Weet ik niet/);
  await page.getByLabel(/Lichtmast L-0412/).check();
  await axe(page, 'the report form with lamp posts');
  await page.locator('#send').click();
  await page.waitForFunction(() => document.body?.dataset.screen !== 'report');
  if (await page.evaluate(() => document.body.dataset.screen === 'nearby')) await page.locator('#not-same').click();
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const [inc] = await mine(await token(page));
  assert.equal(inc.category, 'kapotte_verlichting');
  assert.equal(inc.asset?.external_id, 'L-0412');
  await context.close();
});

await test('"dit is dezelfde" records a confirmation and no new incident', async () => {
  const first = await redeem('ondernemer');
  const id = crypto.randomUUID();
  const res = await fetch(`${server.url}/api/v1/incidents`, { method: 'POST', headers: { Authorization: `Bearer ${first}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ id, area_id: areaId, category: 'kapotte_verlichting', location: { lat, lon, accuracy_m: 5 }, occurred_at: new Date().toISOString() }) });
  assert.equal(res.status, 201);
  const context = await phone({ geo: { latitude: lat + 0.0001, longitude: lon, accuracy: 8 } });
  const page = await joined(context);
  await report(page, 'verlichting', { nearby: 'decide' });
  await page.waitForFunction(() => document.body?.dataset.screen === 'nearby');
  await axe(page, 'nearby');
  assert.match(await page.locator('.near li').first().textContent(), /Kapotte of slechte verlichting/);
  await page.locator(`button.same[data-id="${id}"]`).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  assert.equal((await mine(await token(page))).length, 0, 'no second incident');
  assert.equal((await apiGet(werkgroep, `/incidents/${id}`)).confirmations, 1);
  await context.close();
});

await test('an anonymous report shows no reporter name to a werkgroep member', async () => {
  const context = await phone({ geo: { latitude: lat - 0.0004, longitude: lon - 0.0004, accuracy: 8 } });
  const page = await joined(context);
  await report(page, 'Graffiti', { description: 'anoniem gemeld', fill: (p) => p.locator('#anonymous').check() });
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const [inc] = await mine(await token(page));
  assert.equal(inc.anonymous, true);
  const f = await apiGet(werkgroep, `/incidents/${inc.id}/follow-up`);
  assert.equal(f.history[0].by, 'anoniem');
  assert.ok(!JSON.stringify(f).includes('test ondernemer app'));
  await context.close();
});

await test('patrol: the route and the linked finding reach the server', async () => {
  const context = await phone({ geo: { latitude: lat, longitude: lon, accuracy: 6 } });
  const page = await joined(context, 'beveiliger');
  await page.getByRole('button', { name: 'Surveillance' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'patrol');
  await axe(page, 'patrol');
  await page.locator('#start-patrol').click();
  await page.locator('#end-patrol').waitFor();
  for (let i = 1; i <= 6; i++) {
    await context.setGeolocation({ latitude: lat + i * 0.0002, longitude: lon, accuracy: 6 }); // ~22 m a step
    await page.waitForFunction((n) => document.querySelector('#patrol-points')?.textContent?.startsWith(String(n)), i + 1, { timeout: 10_000 }).catch(() => {});
  }
  await page.locator('.grid button.cat', { hasText: 'Verdachte situatie' }).click();
  await page.locator('[data-fix]').waitFor();
  await page.locator('#send').click();
  await page.waitForFunction(() => document.body?.dataset.screen !== 'report');
  if (await page.evaluate(() => document.body.dataset.screen === 'nearby')) await page.locator('#not-same').click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'patrol');
  await page.locator('#end-patrol').click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'patrol-summary');
  await axe(page, 'patrol summary');
  assert.equal(await page.locator('#summary-findings').textContent(), '1');
  const km = Number((await page.locator('#summary-distance').textContent()).split(' ')[0].replace(',', '.'));
  assert.ok(km > 0.05, `distance ${km} km`);
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const tok = await token(page);
  const [finding] = await mine(tok);
  assert.ok(finding.patrol_id, 'the finding is linked to the patrol');
  const patrol = await apiGet(tok, `/patrols/${finding.patrol_id}`);
  assert.ok(patrol.ended_at, 'ended');
  assert.ok(patrol.point_count >= 5, `${patrol.point_count} route points`);
  assert.ok(patrol.route, 'the route line is stored');
  await context.close();
});

await test('the browser closed in the middle of a photo upload: reopened, the photo arrives, nothing twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvo-phone-'));
  let context = await phone({ dir });
  let page = await joined(context);
  let hung = null;
  const seen = new Promise((ok) => { hung = ok; });
  await page.route('**/photos/**', () => { hung(); /* never answered: the upload is cut off */ });
  await report(page, 'Zwerfvuil', { description: 'afgebroken upload', photo: JPEG });
  await seen;
  await context.close(); // killed mid-upload
  context = await phone({ dir });
  page = watch(context.pages()[0] ?? await context.newPage());
  await page.goto(`${server.url}/melden/`);
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 60_000 });
  const items = await mine(await token(page));
  assert.equal(items.length, 1, 'one incident');
  assert.equal(items[0].photos.length, 1, 'with its photo, once');
  await context.close();
});

await test('the app’s own code is at most 120 KB gzipped; the map library loads only for the pin map', async () => {
  const dist = join(import.meta.dirname, '../dist');
  const html = readFileSync(join(dist, 'melden/index.html'), 'utf8');
  const own = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  const main = own.find((u) => /melden-.*\.js$/.test(u));
  const worker = readFileSync(join(dist, main), 'utf8').match(/\/assets\/photo-worker-[\w-]+\.js/)[0];
  const files = [...own, worker, '/melden/sw.js'];
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(join(dist, f))).length, 0);
  console.log(`     reporting app: ${(gz / 1024).toFixed(1)} KB gzipped (${files.length} files)`);
  assert.ok(gz <= 120 * 1024, `${gz} bytes`);
  const context = await phone();
  const page = watch(await context.newPage());
  const loaded = [];
  page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
  await page.goto(`${server.url}/melden/#code=${invite('ondernemer')}`);
  await page.getByRole('button', { name: 'Aanmelden' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  await page.locator('.themes button.cat', { hasText: 'Zwerfvuil' }).click();
  await page.locator('[data-fix]').waitFor();
  assert.ok(!loaded.some((p) => /maplibre|\/assets\/map-/.test(p)), `no map library yet: ${loaded.join(' ')}`);
  await page.locator('#place-pin').click();
  await page.waitForFunction(() => document.body?.dataset.pinMap === 'ready', null, { timeout: 30_000 });
  assert.ok(loaded.some((p) => /\/assets\/map-/.test(p)), 'loaded for the pin map');
  await context.close();
});

await test('a status push opens the report in "mijn meldingen"', async () => {
  const context = await phone();
  await context.grantPermissions(['notifications', 'geolocation'], { origin: server.url }); // replaces, so both
  const page = await joined(context);
  await report(page, 'Graffiti', { description: 'push volgt' });
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const [inc] = await mine(await token(page));
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await context.newCDPSession(page);
  const registration = new Promise((ok) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { const r = e.registrations.find((x) => x.scopeURL.endsWith('/melden/')); if (r) ok(r.registrationId); }));
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registration;
  const message = { id: 's-1', reason: 'status', area_id: areaId, incident_id: inc.id, category: 'graffiti', status: 'opgelost', title: 'Opgelost: Graffiti', body: 'Binnenstad', url: `/?incident=${inc.id}` };
  // Delivered until shown (a worker that is just starting may miss the first); the tag keeps it one notification.
  let shown = null;
  for (let i = 0; i < 10 && !shown; i++) {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data: JSON.stringify(message) });
    for (let j = 0; j < 10 && !shown; j++) {
      await new Promise((r) => setTimeout(r, 150));
      shown = await page.evaluate(async () => {
        const n = await (await navigator.serviceWorker.ready).getNotifications();
        return n.length ? n.map((x) => ({ title: x.title, url: x.data.url })) : null;
      });
    }
  }
  assert.deepEqual(shown, [{ title: 'Opgelost: Graffiti', url: `/melden/#report=${inc.id}` }], 'the reporter’s app, not the map');
  const opened = watch(await context.newPage());
  await opened.goto(server.url + shown[0].url);
  await opened.waitForFunction(() => document.body?.dataset.screen === 'mine');
  assert.ok(await opened.locator(`#r-${inc.id} details[open]`).count(), 'that report is opened');
  await context.close();
});

await test('an ondernemer with a password signs in on the web and reports through the same app', async () => {
  const email = `winkel-${Date.now()}@example.org`;
  server.kvo('user', 'create', '--area', areaId, '--role', 'ondernemer', '--email', email, '--name', 'Winkel op het web', '--password', 'een-lang-wachtwoord');
  const context = await phone();
  const page = watch(await context.newPage());
  await page.goto(`${server.url}/`); // the map sends an ondernemer to the reporting app
  await page.getByLabel(/E-mailadres/).fill(email);
  await page.getByLabel(/Wachtwoord/).fill('een-lang-wachtwoord');
  await page.getByRole('button', { name: 'Inloggen' }).click();
  await page.waitForURL(/\/melden\/$/);
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  assert.equal(await token(page), null, 'a web session, no device token');
  await report(page, 'Graffiti', { description: 'via het web' });
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const mineOnWeb = await page.evaluate(async () => (await (await fetch('/api/v1/incidents?mine=true', { credentials: 'same-origin' })).json()).items.map((i) => i.description));
  assert.deepEqual(mineOnWeb, ['via het web']);
  await context.close();
});

await test('my data: downloaded, where I am signed in, and removing myself (the report stays, anonymised)', async () => {
  const context = await phone();
  const page = await joined(context);
  page.on('dialog', (d) => d.accept());
  const tok = await token(page);
  await report(page, 'Zwerfvuil', { description: 'Vuilniszakken bij de achteringang' });
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 30_000 });
  const [sent] = await mine(tok);
  await page.locator('#mine').click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'mine');
  await page.locator('.sessions li').first().waitFor();
  assert.equal(await page.locator('.sessions li[data-current=true][data-kind=phone]').count(), 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-my-data').click()]);
  assert.equal(download.suggestedFilename(), 'mijn-gegevens-kvo-meldingen.zip');
  // A ZIP of stored files: the JSON is in it as written (the Rust test reads it entry by entry).
  const zip = readFileSync(await download.path());
  assert.equal(zip.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
  const text = zip.toString('utf8');
  assert.ok(text.includes('mijn-gegevens.json') && text.includes('Vuilniszakken bij de achteringang') && text.includes('test ondernemer app'));
  await axe(page, 'my data');
  await page.locator('#remove-me').click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'join');
  assert.match(await page.locator('#signed-out').textContent(), /verwijderd/);
  const res = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${tok}` } });
  assert.equal(res.status, 401, 'the phone no longer signs in');
  const kept = await apiGet(werkgroep, `/incidents/${sent.id}`);
  assert.equal(kept.description, null, 'the report stays, without its text');
  await context.close();
});

await test('Background Sync: the service worker sends the outbox with the app closed', async () => {
  const context = await phone();
  const page = await joined(context);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  await report(page, 'Zwerfvuil', { description: 'verstuurd door de service worker', photo: JPEG });
  const tok = await token(page);
  await page.close(); // no page of the app is open any more
  await context.setOffline(false);
  const other = await context.newPage(); // a blank page, only to reach the browser
  const cdp = await context.newCDPSession(other);
  const registration = new Promise((ok) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { const r = e.registrations.find((x) => x.scopeURL.endsWith('/melden/')); if (r) ok(r.registrationId); }));
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.dispatchSyncEvent', { origin: server.url, registrationId: await registration, tag: 'outbox', lastChance: false });
  let items = [];
  // The report, then its photo: wait for both.
  for (let i = 0; i < 50 && !(items.length && items[0].photos.length); i++) { await new Promise((r) => setTimeout(r, 200)); items = await mine(tok); }
  if (!items.length) {
    const sw = context.serviceWorkers()[0];
    console.log('sw', sw?.url(), await sw?.evaluate(async () => {
      const db = await new Promise((ok) => { const r = indexedDB.open('kvo-melden'); r.onsuccess = () => ok(r.result); });
      const all = await new Promise((ok) => { const g = db.transaction('outbox').objectStore('outbox').getAll(); g.onsuccess = () => ok(g.result); });
      const net = await fetch('/healthz').then((r) => r.status, (e) => String(e));
      return JSON.stringify({ net, items: all.map((i) => ({ state: i.state, done: i.done, next: i.next_at - Date.now(), attempts: i.attempts, reason: i.reason })) });
    }));
  }
  assert.equal(items.length, 1, 'sent with no page open');
  assert.equal(items[0].photos.length, 1, 'with its photo');
  await context.close();
});

await test('the app shell opens with no network at all', async () => {
  const context = await phone();
  const page = await joined(context);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await context.setOffline(true);
  const again = watch(await context.newPage());
  await again.goto(`${server.url}/melden/`);
  await again.waitForFunction(() => document.body?.dataset.screen === 'home');
  assert.ok(await again.locator('.themes button.cat').count() > 10, 'the categories from the device');
  await context.close();
});

await browser.close();
await server.stop();
done('melden');
