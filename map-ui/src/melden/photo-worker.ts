// Prepares a photo off the main thread: the EXIF orientation applied, at most
// 1600 px on the long side, re-encoded as JPEG at quality 0.8. Drawing the
// pixels into a new canvas leaves every EXIF, GPS and XMP field behind: none
// of it leaves the phone.
export const MAX_SIDE = 1600;
export const QUALITY = 0.8;

export interface Prepared { blob: Blob; width: number; height: number; ms: number }

async function prepare(file: Blob): Promise<Prepared> {
  const t0 = performance.now();
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d');
  if (!g) throw new Error('no 2d context');
  g.imageSmoothingQuality = 'high';
  g.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: QUALITY });
  return { blob, width, height, ms: performance.now() - t0 };
}

self.onmessage = async (e: MessageEvent<{ id: number; file: Blob }>) => {
  try {
    const out = await prepare(e.data.file);
    (self as unknown as Worker).postMessage({ id: e.data.id, ok: true, ...out });
  } catch (err) {
    (self as unknown as Worker).postMessage({ id: e.data.id, ok: false, error: String(err) });
  }
};
