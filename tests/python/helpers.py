"""Photos and drafts for the tests."""

import datetime
import io
import struct

from PIL import Image

import mobile_core as mc


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def draft(category="diefstal", lat=52.247, lon=6.157, accuracy=8.0, description="Winkeldiefstal", **extra):
    loc = None if lat is None else mc.GeoFix(lat=lat, lon=lon, accuracy_m=accuracy)
    return mc.ReportDraft(category=category, location=loc, occurred_at=now() - datetime.timedelta(minutes=3),
                          description=description, **extra)


def photo(w=800, h=600, exif=None):
    """A distinct, photo-like JPEG (random noise), optionally with EXIF."""
    img = Image.effect_noise((w, h), 60).convert("RGB")
    buf = io.BytesIO()
    if exif:
        img.save(buf, "JPEG", quality=90, exif=exif)
    else:
        img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def gps_exif(lat, lon, orientation=1):
    """Raw EXIF (b"Exif\\0\\0" + big-endian TIFF) with an orientation and a GPS position."""
    t = bytearray(b"MM\x00\x2a" + struct.pack(">I", 8))

    def entry(tag, typ, count, value):
        t.extend(struct.pack(">HHI", tag, typ, count) + value)

    t += struct.pack(">H", 2)
    entry(0x0112, 3, 1, struct.pack(">HH", orientation, 0))
    entry(0x8825, 4, 1, struct.pack(">I", 38))
    t += struct.pack(">I", 0)
    t += struct.pack(">H", 4)
    entry(0x0001, 2, 2, b"N\x00\x00\x00")
    entry(0x0002, 5, 3, struct.pack(">I", 92))
    entry(0x0003, 2, 2, b"E\x00\x00\x00")
    entry(0x0004, 5, 3, struct.pack(">I", 116))
    t += struct.pack(">I", 0)
    for v in (lat, lon):
        d = int(v)
        m = int((v - d) * 60)
        s = ((v - d) * 60 - m) * 60
        t += struct.pack(">IIIIII", d, 1, m, 1, int(round(s * 10000)), 10000)
    return b"Exif\x00\x00" + bytes(t)
