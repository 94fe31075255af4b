//! tar.gz and zip archives with fixed timestamps and modes, so the same inputs give the
//! same bytes (and the same SHA256SUMS line).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::util::Result;

/// One archive member: its name inside the archive, where it comes from, its Unix mode.
pub struct Entry {
    pub name: String,
    pub source: PathBuf,
    pub mode: u32,
}

impl Entry {
    pub fn new(name: impl Into<String>, source: impl Into<PathBuf>, mode: u32) -> Entry {
        Entry {
            name: name.into(),
            source: source.into(),
            mode,
        }
    }
}

/// 1980-01-01, the earliest zip date; also the tar mtime (SOURCE_DATE_EPOCH wins when set).
const EPOCH_1980: u64 = 315_532_800;

fn mtime() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(EPOCH_1980)
}

pub fn tar_gz(out: &Path, entries: &[Entry]) -> Result<()> {
    let gz = GzEncoder::new(File::create(out)?, Compression::best());
    let mut tar = tar::Builder::new(gz);
    for e in entries {
        let data = fs::read(&e.source).map_err(|err| format!("{}: {err}", e.source.display()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(e.mode);
        header.set_mtime(mtime());
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, &e.name, data.as_slice())?;
    }
    tar.into_inner()?.finish()?.flush()?;
    Ok(())
}

pub fn zip_options(mode: u32) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .unix_permissions(mode)
        .last_modified_time(DateTime::default())
}

pub fn zip(out: &Path, entries: &[Entry]) -> Result<()> {
    let mut zip = ZipWriter::new(File::create(out)?);
    for e in entries {
        zip.start_file(e.name.as_str(), zip_options(e.mode))?;
        io::copy(
            &mut File::open(&e.source).map_err(|err| format!("{}: {err}", e.source.display()))?,
            &mut zip,
        )?;
    }
    zip.finish()?;
    Ok(())
}
