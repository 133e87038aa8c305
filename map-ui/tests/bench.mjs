// `./do bench map`: time from navigation to the heatmap drawn (the map idle)
// for an area holding 1M incidents, in headless Chromium; next to the naive
// way in the same run (the period's raw incidents as GeoJSON into the
// heatmap layer).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, idle, launch, startServer, tempDir } from './harness.mjs';

const N = Number(process.argv[2] ?? 1_000_000);
const EMAIL = 'bench@example.org';
const PASSWORD = 'bench-werkgroep-2026';
const kvo = join(ROOT, 'target/release/kvo');

const dir = tempDir();
console.log(`loading one area with ${N.toLocaleString('en')} incidents (COPY, indexes, rollup)…`);
const env = { ...process.env, KVO_DATA_DIR: join(dir, 'data'), KVO_PASSWORD: PASSWORD, RUST_LOG: 'error' };
const area = execFileSync(kvo, ['bench', 'load-area', '--incidents', String(N), '--email', EMAIL], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const server = await startServer({ kvo, demo: false, dir });

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const login = await context.request.post(`${server.url}/api/v1/session`, { data: { email: EMAIL, password: PASSWORD }, headers: { 'X-KVO-CSRF': '1' } });
if (!login.ok()) throw new Error(`sign-in failed: ${login.status()}`);

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
async function run(period, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(`${server.url}/?area=${area}&period=${period}`);
    await idle(page, 0, 120_000);
    times.push(Date.now() - t0);
    if (i === 0) {
      const marks = await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0];
        const m = Object.fromEntries(performance.getEntriesByType('mark').map((e) => [e.name, Math.round(e.startTime)]));
        return { html: Math.round(n.responseEnd), scripts: Math.round(n.domContentLoadedEventEnd), ...m };
      });
      console.log(`                first load in the page's clock (ms): ${JSON.stringify(marks)}`);
    }
    if (i === runs - 1) {
      const count = await page.locator('#total-count').textContent();
      console.log(`period ${period.padEnd(7)} (${count} incidents): navigation → heatmap drawn, first ${times[0]} ms, median of ${runs} ${median(times)} ms, max ${Math.max(...times)} ms  (target ≤ 1500 ms)`);
      // The naive way: the period's raw incidents as GeoJSON, drawn by the same heatmap layer.
      const naive = await page.evaluate(async ({ area, period }) => {
        const to = new Date().toISOString().slice(0, 10);
        const days = { '4w': 27, quarter: 90, year: 364 }[period] ?? 27;
        const from = new Date(Date.now() - days * 864e5).toISOString().slice(0, 10);
        const t0 = performance.now();
        const fc = await (await fetch(`/api/v1/areas/${area}/export/incidents.geojson?from=${from}&to=${to}`)).json();
        const fetched = performance.now() - t0;
        fc.features.forEach((f) => { f.properties = { weight: 0.05 }; });
        window.kvoMap.getSource('heat').setData(fc);
        await new Promise((ok) => window.kvoMap.once('idle', ok));
        return { ms: Math.round(performance.now() - t0), fetched: Math.round(fetched), n: fc.features.length };
      }, { area, period });
      console.log(`                naive (raw incidents as GeoJSON into the heatmap): ${naive.ms} ms for ${naive.n} points (download and parse ${naive.fetched} ms): ${(naive.ms / median(times)).toFixed(1)}× the median`);
    }
    await page.close();
  }
}
console.log(`map load in headless Chromium (${process.env.CHROMIUM ?? '/usr/bin/chromium'}), 1280 × 800, basemap unreachable (as in the tests):`);
await run('4w', 7);
await run('quarter', 5);
await run('year', 5);
await browser.close();
await server.stop();
