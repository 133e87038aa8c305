// Draws the reporting app's icons (run once; the PNGs are committed):
// a white map pin with an exclamation mark on the app's blue. The maskable
// one keeps the pin inside the central safe zone (40 % radius).
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

function icon(size, safe) {
  const png = new PNG({ width: size, height: size });
  const s = size * safe; // the drawing's scale
  const cx = size / 2, cy = size / 2 - s * 0.06;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const i = (y * size + x) * 4;
    const dx = (x - cx) / s, dy = (y - cy) / s;
    // Pin: a circle on top of a triangle pointing down.
    const head = dx * dx + (dy + 0.12) ** 2 < 0.3 ** 2;
    const tail = dy >= -0.12 && dy < 0.42 && Math.abs(dx) < 0.26 * (0.42 - dy) / 0.54;
    const mark = (Math.abs(dx) < 0.045 && dy > -0.3 && dy < -0.02) || dx * dx + (dy - 0.07) ** 2 < 0.05 ** 2;
    const white = (head || tail) && !mark;
    const [r, g, b] = white ? [255, 255, 255] : [0, 87, 163];
    png.data[i] = r; png.data[i + 1] = g; png.data[i + 2] = b; png.data[i + 3] = 255;
  }
  return PNG.sync.write(png);
}

const dir = new URL('../public/melden/icons/', import.meta.url);
writeFileSync(new URL('icon-192.png', dir), icon(192, 1));
writeFileSync(new URL('icon-512.png', dir), icon(512, 1));
writeFileSync(new URL('maskable-512.png', dir), icon(512, 0.7));
