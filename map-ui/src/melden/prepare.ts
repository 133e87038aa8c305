// Prepares a photo: the EXIF orientation applied, at most 1600 px on the
// long side, re-encoded as JPEG at quality 0.8. Drawing the pixels into a new
// canvas leaves every EXIF, GPS and XMP field behind: none of it leaves the
// phone. Runs in the photo worker, and on the page when the worker cannot.
export const MAX_SIDE = 1600;
export const QUALITY = 0.8;

import { jpegMeta } from './jpeg-meta';

export interface Prepared { blob: Blob; width: number; height: number; ms: number }

/** The size to decode a JPEG to, upright, when its header says it is larger
 * than needed: the browser then decodes straight to it (a 12 MP photo is
 * never held at full size). */
function target(meta: ReturnType<typeof jpegMeta>): { resizeWidth: number; resizeHeight: number } | null {
  if (!meta) return null;
  const swap = meta.orientation >= 5; // 5–8 turn the picture a quarter
  const [w, h] = swap ? [meta.height, meta.width] : [meta.width, meta.height];
  const scale = MAX_SIDE / Math.max(w, h);
  return scale < 1 ? { resizeWidth: Math.round(w * scale), resizeHeight: Math.round(h * scale) } : null;
}

export async function prepare(file: Blob): Promise<Prepared> {
  const t0 = performance.now();
  const size = target(jpegMeta(await file.slice(0, 256 * 1024).arrayBuffer()));
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image', ...(size ? { ...size, resizeQuality: 'high' as const } : {}) });
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

