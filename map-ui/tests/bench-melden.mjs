// `./do bench melden`: the reporting app's figures, each next to its
// comparison in the same run.
// 1. Preparing a 12 MP JPEG in Chromium's photo worker (median time, peak
//    renderer memory) — the phone core's Rust path on the same file is
//    printed just before by `cargo bench -p mobile-core --bench photo`.
// 2. First load of /melden/ on an emulated mid-range phone (4× CPU slowdown,
//    "Slow 4G"): time until the category grid is usable, cold and with the
//    service worker warm.
// 3. Sending 200 queued reports with a photo each after coming back online.
import { readFileSync, readdirSync } from 'node:fs';
import { launch, startServer, JPEG } from './harness.mjs';

const photoPath = process.argv[2];
const server = await startServer({ kvo: process.env.KVO_BIN });
const browser = await launch();
const areaId = server.kvo('area', 'list').split('\n').find((l) => l.includes('Binnenstad')).split(/\s+/)[0];
const invite = () => server.kvo('invite', 'create', '--area', areaId, '--role', 'ondernemer').split(/\s+/)[0];
const area = await (await fetch(`${server.url}/api/v1/areas/${areaId}`, { headers: { Authorization: `Bearer ${await token()}` } })).json();
const ring = area.boundary.type === 'Polygon' ? area.boundary.coordinates[0] : area.boundary.coordinates[0][0];
const [lon, lat] = ring.slice(0, -1).reduce(([x, y], [a, b], _, all) => [x + a / all.length, y + b / all.length], [0, 0]);
const PHONE = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'nl-NL', geolocation: { latitude: lat, longitude: lon, accuracy: 10 }, permissions: ['geolocation'] };

async function token() {
  const res = await fetch(`${server.url}/api/v1/devices/redeem`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: invite() }) });
  return (await res.json()).token;
}
async function joined(context) {
  const page = await context.newPage();
  await page.goto(`${server.url}/melden/#code=${invite()}`);
  await page.getByRole('button', { name: 'Aanmelden' }).click();
  await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  return page;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Resident memory of Chromium's renderer processes, in MB. */
function rendererRss() {
  let kb = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      kb += Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
    } catch { /* gone */ }
  }
  return kb / 1024;
}

// ------------------------------------------------------------------ 1. photo preparation
if (photoPath) {
  const context = await browser.newContext(PHONE);
  const page = await joined(context);
  await page.locator('.themes button.cat', { hasText: 'Zwerfvuil' }).click();
  const buffer = readFileSync(photoPath);
  const times = [];
  let peak = 0;
  for (let i = 0; i < 7; i++) {
    const before = rendererRss();
    const poll = setInterval(() => { peak = Math.max(peak, rendererRss() - before); }, 20);
    const t = Date.now();
    await page.locator('#gallery').setInputFiles({ name: 'groot.jpg', mimeType: 'image/jpeg', buffer });
    await page.locator('.thumb img').nth(i).waitFor({ timeout: 60_000 });
    times.push(Date.now() - t);
    clearInterval(poll);
  }
  console.log(`photo preparation in Chromium's worker, same 12 MP file (${(buffer.length / 1024).toFixed(0)} KB) to 1600 px:`);
  console.log(`  median ${median(times.slice(1))} ms (first ${times[0]} ms), peak renderer memory growth ${peak.toFixed(0)} MB`);
  await context.close();
}

// ------------------------------------------------------------------ 2. first load, throttled
{
  const context = await browser.newContext(PHONE);
  const page = await joined(context);
  await page.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const throttle = async () => {
    // Chromium DevTools' "Slow 4G": 562.5 ms latency, 1.44 Mbit/s down, 0.675 Mbit/s up.
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 562.5, downloadThroughput: 180_000, uploadThroughput: 84_375 });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  };
  const load = async () => {
    const t = Date.now();
    await page.reload({ waitUntil: 'commit' });
    await page.waitForFunction(() => document.body?.dataset.screen === 'home' && document.querySelectorAll('.themes button.cat').length > 0, null, { timeout: 60_000 });
    return Date.now() - t;
  };
  const warm = [];
  await throttle();
  for (let i = 0; i < 3; i++) warm.push(await load());
  const cold = [];
  for (let i = 0; i < 3; i++) {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await page.evaluate(async () => {
      for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
      for (const k of await caches.keys()) await caches.delete(k);
    });
    await cdp.send('Network.clearBrowserCache');
    await throttle();
    cold.push(await load());
  }
  console.log('first load of /melden/ until the category grid is usable (4× CPU slowdown, Slow 4G):');
  console.log(`  cold (no cache, no service worker) median ${median(cold)} ms [${cold.join(', ')}]   target ≤ 3000 ms`);
  console.log(`  warm (service worker)              median ${median(warm)} ms [${warm.join(', ')}]   target ≤ 1000 ms`);
  await context.close();
}

// ------------------------------------------------------------------ 3. 200 queued reports
{
  const N = Number(process.env.REPORTS ?? 200);
  const context = await browser.newContext(PHONE);
  const page = await joined(context);
  await context.setOffline(true);
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    await page.locator('.themes button.cat', { hasText: 'Zwerfvuil' }).click();
    await page.locator('#gallery').setInputFiles({ name: 'foto.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await page.locator('.thumb img').waitFor();
    await page.locator('[data-fix]').waitFor();
    await page.locator('#description').fill(`melding ${i}`);
    await page.locator('#send').click();
    await page.waitForFunction(() => document.body?.dataset.screen === 'home');
  }
  const made = Date.now() - t0;
  const requests = [];
  context.on('request', (r) => { if (['POST', 'PUT'].includes(r.method()) && r.url().includes('/api/v1/incidents')) requests.push(r); });
  const t = Date.now();
  await context.setOffline(false);
  await page.evaluate(() => dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.querySelector('#outbox-status')?.dataset.waiting === '0', null, { timeout: 600_000 });
  const ms = Date.now() - t;
  const tok = await page.evaluate(() => new Promise((ok) => { const r = indexedDB.open('kvo-melden'); r.onsuccess = () => { const g = r.result.transaction('kv').objectStore('kv').get('session'); g.onsuccess = () => ok(g.result.token); }; }));
  const stored = (await (await fetch(`${server.url}/api/v1/incidents?mine=true&limit=500`, { headers: { Authorization: `Bearer ${tok}` } })).json()).items;
  if (stored.length !== N || stored.some((i) => i.photos.length !== 1)) throw new Error(`expected ${N} reports with a photo each, the server has ${stored.length}`);
  console.log(`sending ${N} queued reports with a photo each after coming back online (${(made / N).toFixed(0)} ms to make one offline):`);
  console.log(`  ${(ms / 1000).toFixed(1)} s, ${requests.length} requests, ${(requests.length / (ms / 1000)).toFixed(1)} requests/s, ${(N / (ms / 1000)).toFixed(1)} reports/s`);
  await context.close();
}

await browser.close();
await server.stop();
