// The photo worker: prepares photos (prepare.ts) off the main thread.
import { prepare } from './prepare';

self.onmessage = async (e: MessageEvent<{ id: number; file: Blob }>) => {
  try {
    const out = await prepare(e.data.file);
    (self as unknown as Worker).postMessage({ id: e.data.id, ok: true, ...out });
  } catch (err) {
    (self as unknown as Worker).postMessage({ id: e.data.id, ok: false, error: String(err) });
  }
};
