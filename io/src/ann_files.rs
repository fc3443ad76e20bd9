//! `.fvecs` / `.ivecs`: per row a little-endian i32 dimension followed by that many
//! little-endian f32 (fvecs) or i32 (ivecs) values. Every row must have the same
//! dimension.

use std::io::{Read, Write};
use std::path::Path;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AnnFileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: row {row} has dimension {got}, expected {expected}")]
    Ragged {
        path: String,
        row: usize,
        expected: usize,
        got: usize,
    },
    #[error("{path}: truncated at byte {offset}")]
    Truncated { path: String, offset: usize },
    #[error("{path}: bad dimension {dim} at row {row}")]
    BadDimension { path: String, row: usize, dim: i64 },
}

/// Rows of a `.fvecs`/`.ivecs` file as one flat array plus the dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows<T> {
    pub dim: usize,
    pub data: Vec<T>,
}

impl<T> Rows<T> {
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

fn parse<T>(
    path: &str,
    bytes: &[u8],
    conv: impl Fn([u8; 4]) -> T,
) -> Result<Rows<T>, AnnFileError> {
    let mut dim = None;
    let mut data = Vec::new();
    let mut off = 0;
    let mut row = 0;
    while off < bytes.len() {
        let head = bytes.get(off..off + 4).ok_or(AnnFileError::Truncated {
            path: path.into(),
            offset: off,
        })?;
        let d = i32::from_le_bytes(head.try_into().expect("4 bytes"));
        if d <= 0 || d > 1 << 20 {
            return Err(AnnFileError::BadDimension {
                path: path.into(),
                row,
                dim: d.into(),
            });
        }
        let d = d as usize;
        let expected = *dim.get_or_insert(d);
        if d != expected {
            return Err(AnnFileError::Ragged {
                path: path.into(),
                row,
                expected,
                got: d,
            });
        }
        off += 4;
        let body = bytes.get(off..off + 4 * d).ok_or(AnnFileError::Truncated {
            path: path.into(),
            offset: off,
        })?;
        data.extend(
            body.chunks_exact(4)
                .map(|c| conv(c.try_into().expect("4 bytes"))),
        );
        off += 4 * d;
        row += 1;
    }
    Ok(Rows {
        dim: dim.unwrap_or(0),
        data,
    })
}

fn read_all(path: &Path) -> Result<Vec<u8>, AnnFileError> {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|source| AnnFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
    Ok(buf)
}

pub fn read_fvecs(path: &Path) -> Result<Rows<f32>, AnnFileError> {
    parse(
        &path.display().to_string(),
        &read_all(path)?,
        f32::from_le_bytes,
    )
}

pub fn read_ivecs(path: &Path) -> Result<Rows<i32>, AnnFileError> {
    parse(
        &path.display().to_string(),
        &read_all(path)?,
        i32::from_le_bytes,
    )
}

fn write<T: Copy>(
    path: &Path,
    rows: &Rows<T>,
    bytes: impl Fn(T) -> [u8; 4],
) -> Result<(), AnnFileError> {
    let err = |source| AnnFileError::Io {
        path: path.display().to_string(),
        source,
    };
    let f = std::fs::File::create(path).map_err(err)?;
    let mut w = std::io::BufWriter::new(f);
    for i in 0..rows.len() {
        w.write_all(&(rows.dim as i32).to_le_bytes()).map_err(err)?;
        for v in rows.row(i) {
            w.write_all(&bytes(*v)).map_err(err)?;
        }
    }
    w.flush().map_err(err)
}

pub fn write_fvecs(path: &Path, rows: &Rows<f32>) -> Result<(), AnnFileError> {
    write(path, rows, f32::to_le_bytes)
}

pub fn write_ivecs(path: &Path, rows: &Rows<i32>) -> Result<(), AnnFileError> {
    write(path, rows, i32::to_le_bytes)
}

#[cfg(test)]
mod tests {
    //! Round trip through files, and rejection of ragged, truncated and bad input.
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("kektor-annfiles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.fvecs");
        let rows = Rows {
            dim: 3,
            data: vec![1.0, 2.0, 3.0, -1.0, 0.5, 9.0],
        };
        write_fvecs(&p, &rows).unwrap();
        assert_eq!(read_fvecs(&p).unwrap(), rows);
        let pi = dir.join("a.ivecs");
        let irows = Rows {
            dim: 2,
            data: vec![1, 2, 3, 4],
        };
        write_ivecs(&pi, &irows).unwrap();
        assert_eq!(read_ivecs(&pi).unwrap(), irows);

        let mut bytes = std::fs::read(&p).unwrap();
        bytes.truncate(bytes.len() - 2);
        assert!(matches!(
            parse("x", &bytes, f32::from_le_bytes),
            Err(AnnFileError::Truncated { .. })
        ));
        let mut ragged = 3i32.to_le_bytes().to_vec();
        ragged.extend([0u8; 12]);
        ragged.extend(2i32.to_le_bytes());
        ragged.extend([0u8; 8]);
        assert!(matches!(
            parse("x", &ragged, f32::from_le_bytes),
            Err(AnnFileError::Ragged { row: 1, .. })
        ));
        let neg = (-1i32).to_le_bytes();
        assert!(matches!(
            parse("x", &neg, f32::from_le_bytes),
            Err(AnnFileError::BadDimension { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
