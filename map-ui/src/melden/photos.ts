// The page's side of photo preparation: one worker, requests by id; when the
// worker cannot start, the same preparation runs on the page (slower, but
// the photo is not lost). Also reads the GPS position a JPEG carries (EXIF),
// to offer it when the phone has no fix; the prepared photo never carries it.
import { prepare as prepareHere, type Prepared } from './prepare';
import { jpegMeta } from './jpeg-meta';

let worker: Worker | null = null;
let next = 0;
const pending = new Map<number, { ok: (p: Prepared) => void; fail: (e: Error) => void }>();

export async function prepare(file: Blob): Promise<Prepared> {
  try {
    return await inWorker(file);
  } catch (e) {
    if (!(e instanceof WorkerFailed)) throw e;
    console.warn('photo worker unavailable, preparing on the page:', e.message);
    return prepareHere(file);
  }
}

class WorkerFailed extends Error {}

function inWorker(file: Blob): Promise<Prepared> {
  worker ??= new Worker(new URL('./photo-worker.ts', import.meta.url), { type: 'module' });
  // A worker that cannot start (its script unreachable) fails every request, and the next one tries anew.
  worker.onerror = (e) => {
    e.preventDefault();
    worker = null;
    for (const [id, p] of pending) { pending.delete(id); p.fail(new WorkerFailed(`${e.message || 'failed to start'} ${e.filename ?? ''}:${e.lineno ?? ''}`)); }
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
  return jpegMeta(await file.slice(0, 256 * 1024).arrayBuffer())?.gps ?? null;
}
