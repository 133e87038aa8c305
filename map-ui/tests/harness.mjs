// Starts `kvo serve --demo` on a private data directory and Chromium, for
// the browser tests and the load benchmark.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = join(ROOT, 'build', 'artifacts', 'map-ui');
mkdirSync(ARTIFACTS, { recursive: true });

/** A small JPEG (96 × 72), for a report's photo. */
export const JPEG = Buffer.from('/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCABIAGADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD5Zjt/arEdv7Vejt/arEdv7V+wTrnlUMSUI7f2qxHb+1X47f2qeO39q55Vz2aGJKMdv7VPHb+1X47f2qxHb+1c0q57VDElCO39qnjt/ar8dv7VYjt/auaVc9qhiShHb+1WI7f2q/Hb+1Tx2/tXNKuezQxJRjt/ap47f2q/Hb+1WI7f2rnnXPaoYk4GO39qsR2/tV+O39qnjt/avRnXP5eoYkoR2/tViO39qvx2/tViO39q55Vz2qGJKEdv7VPHb+1X47f2qxHb+1c0q57VDElCO39qsR2/tV6O39qsR2/tXPOuezQxJQjt/arEdv7Vfjt/ap47f2rmnXPaoYkox2/tU8dv7Vfjt/arEdv7VzTrntUMScDHb+1WI7f2q/Hb+1Tx2/tXpSrn8vUMSUI7f2qxHb+1X47f2qxHb+1c8q57VDElCO39qnjt/ar8dv7VYjt/auaVc9qhiShHb+1WI7f2q/Hb+1Tx2/tXNOuezQxJQjt/arEdv7Vfjt/arEdv7VzyrntUMSUI7f2qeO39qvx2/tViO39q5pVz2aGJOBjt/arEdv7Vfjt/ap47f2r0pVz+X6GJKEdv7VYjt/ar8dv7VYjt/auadc9qhiShHb+1Tx2/tV+O39qsR2/tXPOuezQxJQjt/arEdv7Vfjt/ap47f2rmnXPaoYkoR2/tViO39qvx2/tViO39q5pVz2qGJKEdv7VPHb+1X47f2qxHb+1c0q57NDEnAx2/tViO39qKK9aU2fzJQqSLEdv7VPHb+1FFc85s9qhUkWI7f2qxHb+1FFc0ps9mhUkTx2/tViO39qKK5pTZ7VCpIsR2/tU8dv7UUVzymz2aFSRYjt/ap47f2oormlNntUKkj//Z', 'base64');

async function freePort() {
  return new Promise((ok) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
}

/** A fresh directory the private cluster can use (it runs as postgres when we are root). */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'kvo-map-'));
  chmodSync(dir, 0o755);
  return dir;
}

export async function startServer({ kvo = join(ROOT, 'target/debug/kvo'), basemap, env = {}, demo = true, dir = tempDir() } = {}) {
  const port = await freePort();
  // No basemap is reachable in the tests: a closed port on loopback.
  const closed = await freePort();
  const e = { ...process.env, KVO_DATA_DIR: join(dir, 'data'), KVO_LISTEN: `127.0.0.1:${port}`, KVO_MAP_UI_DIR: join(ROOT, 'map-ui/dist'),
    KVO_BASEMAP_URL: basemap ?? `http://127.0.0.1:${closed}/{z}/{x}/{y}.png`, RUST_LOG: 'warn',
    // Many people sign in and join from this one address: no per-address limits (tested in Rust).
    KVO_RATE_SIGNIN_PER_MINUTE: '0', KVO_RATE_REDEEM_PER_MINUTE: '0', ...env };
  const log = openSync(join(dir, 'server.log'), 'w');
  const proc = spawn(kvo, demo ? ['serve', '--demo'] : ['serve'], { env: e, stdio: ['ignore', 'ignore', log] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try { if ((await fetch(`${url}/readyz`)).ok) break; } catch { /* not yet */ }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start; see ${dir}/server.log`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const kvoCli = (...args) => execFileSync(kvo, args, { env: e, encoding: 'utf8' }).trim();
  // Stopping ends the server (which stops its cluster) and removes the private data directory,
  // unless KVO_KEEP is set (to read its server.log).
  const stop = async () => {
    await new Promise((ok) => { if (proc.exitCode !== null) ok(); else { proc.once('exit', ok); proc.kill('SIGINT'); } });
    if (!process.env.KVO_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  return { url, dir, proc, kvo: kvoCli, stop };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Waits for the app's readiness signal: the map has drawn the data of render `after` or later. */
export async function idle(page, after = 0, timeout = 60_000) {
  await page.waitForFunction((n) => document.body?.dataset.state === 'idle' && Number(document.body?.dataset.renderSeq) > n, after, { timeout });
  return Number(await page.evaluate(() => document.body.dataset.renderSeq));
}

/** A suite's runner: `test(name, fn)` runs and reports one test (only those
 * whose name contains `ONLY`, when set); `done(label)` prints the tally and
 * exits with its outcome. */
export function suite() {
  const results = [];
  async function test(name, fn) {
    if (process.env.ONLY && !process.env.ONLY.split('|').some((part) => name.includes(part))) return; // ONLY='a|b'
    const started = Date.now();
    try {
      await fn();
      results.push([name, 'ok']);
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      results.push([name, 'FAILED']);
      console.log(`FAIL ${name}\n${e.stack ?? e}`);
    }
  }
  function done(label) {
    const failed = results.filter(([, r]) => r !== 'ok');
    console.log(`\n${label}: ${results.length - failed.length} passed, ${failed.length} failed`);
    process.exit(failed.length ? 1 : 0);
  }
  return { test, done };
}
