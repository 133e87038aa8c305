//! A ZIP archive of stored (uncompressed) files, written in memory: the
//! person's export (their data as JSON and their photos, which JPEG already
//! compresses). Names are UTF-8 (flag 11); at most 65,535 files and 4 GiB.

use chrono::{Datelike, Timelike};

/// One file of an archive.
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The archive of `entries`, dated `at` (local time); `None` past the format's limits.
pub fn archive(entries: &[Entry], at: chrono::NaiveDateTime) -> Option<Vec<u8>> {
    if entries.len() > usize::from(u16::MAX) {
        return None;
    }
    let time = ((at.hour() << 11) | (at.minute() << 5) | (at.second() / 2)) as u16;
    let date = (((at.year().clamp(1980, 2107) - 1980) as u32) << 9) | (at.month() << 5) | at.day();
    let date = date as u16;
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for e in entries {
        let offset = u32::try_from(out.len()).ok()?;
        let size = u32::try_from(e.bytes.len()).ok()?;
        let name = e.name.as_bytes();
        let name_len = u16::try_from(name.len()).ok()?;
        let crc = crc32fast::hash(&e.bytes);
        // The fields a local header and a central entry share, from "version needed" on.
        let mut common = Vec::with_capacity(26);
        for v in [20u16, 0x0800, 0, time, date] {
            common.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            common.extend_from_slice(&v.to_le_bytes());
        }
        common.extend_from_slice(&name_len.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // no extra field
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&common);
        out.extend_from_slice(name);
        out.extend_from_slice(&e.bytes);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by: version 2.0
        central.extend_from_slice(&common);
        for v in [0u16, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes()); // comment, disk, internal attributes
        }
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = u32::try_from(out.len()).ok()?;
    let cd_size = u32::try_from(central.len()).ok()?;
    out.extend_from_slice(&central);
    let count = entries.len() as u16;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_has_its_files_and_a_directory_that_points_at_them() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(10, 30, 0).unwrap();
        let files = [
            Entry { name: "mijn-gegevens.json".into(), bytes: b"{}".to_vec() },
            Entry { name: "foto's/één.jpg".into(), bytes: vec![0xff, 0xd8, 0xff, 0xd9] },
        ];
        let z = archive(&files, at).unwrap();
        assert_eq!(&z[..4], b"PK\x03\x04");
        // The end record: two entries, and the directory where it says.
        let end = z.len() - 22;
        assert_eq!(&z[end..end + 4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([z[end + 10], z[end + 11]]), 2);
        let cd = u32::from_le_bytes(z[end + 16..end + 20].try_into().unwrap()) as usize;
        assert_eq!(&z[cd..cd + 4], b"PK\x01\x02");
        // The first file's CRC and bytes.
        assert_eq!(u32::from_le_bytes(z[14..18].try_into().unwrap()), crc32fast::hash(b"{}"));
        assert_eq!(&z[30 + 18..30 + 20], b"{}");
    }
}
