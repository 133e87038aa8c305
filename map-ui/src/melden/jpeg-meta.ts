// What a JPEG's header says, read without decoding it: its pixel size, and
// from EXIF its orientation and GPS position. Used by the photo worker (to
// let the browser decode straight to the target size) and by the page (to
// offer the photo's position when there is no fix).

export interface JpegMeta { width: number; height: number; orientation: number; gps: [number, number] | null }

export function jpegMeta(buf: ArrayBuffer): JpegMeta | null {
  const v = new DataView(buf);
  if (v.byteLength < 4 || v.getUint16(0) !== 0xffd8) return null;
  let off = 2;
  let exif: { orientation: number; gps: [number, number] | null } = { orientation: 1, gps: null };
  while (off + 4 <= v.byteLength) {
    const marker = v.getUint16(off);
    if ((marker & 0xff00) !== 0xff00) return null;
    const len = v.getUint16(off + 2);
    if (marker === 0xffe1 && off + 10 <= v.byteLength && v.getUint32(off + 4) === 0x45786966) exif = tiff(v, off + 10);
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xffc0 && marker <= 0xffcf && ![0xffc4, 0xffc8, 0xffcc].includes(marker) && off + 9 <= v.byteLength) {
      return { height: v.getUint16(off + 5), width: v.getUint16(off + 7), ...exif };
    }
    if (marker === 0xffda) return null;
    off += 2 + len;
  }
  return null;
}

function tiff(v: DataView, start: number): { orientation: number; gps: [number, number] | null } {
  const out = { orientation: 1, gps: null as [number, number] | null };
  try {
    const le = v.getUint16(start) === 0x4949;
    const u16 = (o: number) => v.getUint16(start + o, le);
    const u32 = (o: number) => v.getUint32(start + o, le);
    const entries = (ifd: number) => Array.from({ length: u16(ifd) }, (_, i) => ifd + 2 + i * 12);
    const ifd0 = entries(u32(4));
    const o = ifd0.find((e) => u16(e) === 0x0112);
    if (o !== undefined && u16(o + 8) >= 1 && u16(o + 8) <= 8) out.orientation = u16(o + 8);
    const gpsEntry = ifd0.find((e) => u16(e) === 0x8825);
    if (gpsEntry === undefined) return out;
    const gps = new Map(entries(u32(gpsEntry + 8)).map((e) => [u16(e), e]));
    const rational3 = (e: number | undefined) => {
      if (e === undefined) return null;
      const at = u32(e + 8);
      const r = (i: number) => u32(at + i * 8) / (u32(at + i * 8 + 4) || 1);
      return r(0) + r(1) / 60 + r(2) / 3600;
    };
    const ref = (e: number | undefined) => (e === undefined ? '' : String.fromCharCode(v.getUint8(start + e + 8)));
    const lat = rational3(gps.get(2));
    const lon = rational3(gps.get(4));
    if (lat === null || lon === null) return out;
    const la = ref(gps.get(1)) === 'S' ? -lat : lat;
    const lo = ref(gps.get(3)) === 'W' ? -lon : lon;
    if (Number.isFinite(la) && Number.isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180) out.gps = [la, lo];
  } catch { /* unreadable EXIF counts as absent */ }
  return out;
}
