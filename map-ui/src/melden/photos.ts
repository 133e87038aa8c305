// The page's side of photo preparation: one worker, requests by id. Also
// reads the GPS position a JPEG carries (EXIF), to offer it when the phone
// has no fix; the prepared photo never carries it.
import type { Prepared } from './photo-worker';

let worker: Worker | null = null;
let next = 0;
const pending = new Map<number, { ok: (p: Prepared) => void; fail: (e: Error) => void }>();

export function prepare(file: Blob): Promise<Prepared> {
  worker ??= new Worker(new URL('./photo-worker.ts', import.meta.url), { type: 'module' });
  // A worker that cannot start (its script unreachable) fails every request, and the next one tries anew.
  worker.onerror = (e) => {
    e.preventDefault();
    worker = null;
    for (const [id, p] of pending) { pending.delete(id); p.fail(new Error(`photo worker: ${e.message || 'failed to start'}`)); }
  };
  worker.onmessage = (e) => {
    const p = pending.get(e.data.id);
    if (!p) return;
    pending.delete(e.data.id);
    if (e.data.ok) p.ok(e.data as Prepared);
    else p.fail(new Error(e.data.error));
  };
  const id = ++next;
  return new Promise((ok, fail) => {
    pending.set(id, { ok, fail });
    worker!.postMessage({ id, file });
  });
}

/** The GPS position in a JPEG's EXIF, if any: [lat, lon]. */
export async function exifPosition(file: Blob): Promise<[number, number] | null> {
  const buf = new DataView(await file.slice(0, 256 * 1024).arrayBuffer());
  if (buf.byteLength < 4 || buf.getUint16(0) !== 0xffd8) return null;
  let off = 2;
  while (off + 4 <= buf.byteLength) {
    const marker = buf.getUint16(off);
    const len = buf.getUint16(off + 2);
    if (marker === 0xffe1 && off + 10 <= buf.byteLength && buf.getUint32(off + 4) === 0x45786966) return tiffGps(buf, off + 10);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null;
    off += 2 + len;
  }
  return null;
}

function tiffGps(v: DataView, tiff: number): [number, number] | null {
  try {
    const le = v.getUint16(tiff) === 0x4949;
    const u16 = (o: number) => v.getUint16(tiff + o, le);
    const u32 = (o: number) => v.getUint32(tiff + o, le);
    const entries = (ifd: number) => Array.from({ length: u16(ifd) }, (_, i) => ifd + 2 + i * 12);
    const gpsEntry = entries(u32(4)).find((e) => u16(e) === 0x8825);
    if (gpsEntry === undefined) return null;
    const gps = new Map(entries(u32(gpsEntry + 8)).map((e) => [u16(e), e]));
    const rational3 = (e: number | undefined) => {
      if (e === undefined) return null;
      const at = u32(e + 8);
      const r = (i: number) => u32(at + i * 8) / (u32(at + i * 8 + 4) || 1);
      return r(0) + r(1) / 60 + r(2) / 3600;
    };
    const ref = (e: number | undefined) => (e === undefined ? '' : String.fromCharCode(v.getUint8(tiff + e + 8)));
    const lat = rational3(gps.get(2));
    const lon = rational3(gps.get(4));
    if (lat === null || lon === null) return null;
    const signedLat = ref(gps.get(1)) === 'S' ? -lat : lat;
    const signedLon = ref(gps.get(3)) === 'W' ? -lon : lon;
    return Number.isFinite(signedLat) && Number.isFinite(signedLon) && Math.abs(signedLat) <= 90 && Math.abs(signedLon) <= 180 ? [signedLat, signedLon] : null;
  } catch {
    return null;
  }
}
