//! The daemon protocol's encoding.
//!
//! ```text
//! u64     = 8 bytes, little-endian (also every bool, enum and length)
//! bytes   = u64 length, the bytes, zero padding to a multiple of 8
//! strings = u64 count, then each as bytes
//! framed  = { u64 length (> 0), the bytes (no padding) }  u64 0
//! ```

use std::io::{self, Read, Write};

/// Longest string accepted from the daemon (a NAR hash, a path, an error message).
const MAX_STRING: u64 = 64 << 20;

pub fn write_u64(w: &mut impl Write, n: u64) -> io::Result<()> {
    w.write_all(&n.to_le_bytes())
}

pub fn write_bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    write_u64(w, b.len() as u64)?;
    w.write_all(b)?;
    let pad = (8 - b.len() % 8) % 8;
    w.write_all(&[0u8; 8][..pad])
}

pub fn write_strings<'a>(
    w: &mut impl Write,
    strings: impl ExactSizeIterator<Item = &'a str>,
) -> io::Result<()> {
    write_u64(w, strings.len() as u64)?;
    for s in strings {
        write_bytes(w, s.as_bytes())?;
    }
    Ok(())
}

pub fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

pub fn read_bytes(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let len = read_u64(r)?;
    if len > MAX_STRING {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the daemon sent a string of {len} bytes"),
        ));
    }
    let mut b = vec![0u8; len as usize];
    r.read_exact(&mut b)?;
    let pad = ((8 - len % 8) % 8) as usize;
    let mut p = [0u8; 8];
    r.read_exact(&mut p[..pad])?;
    if p.iter().any(|&x| x != 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "non-zero padding after a string",
        ));
    }
    Ok(b)
}

pub fn read_string(r: &mut impl Read) -> io::Result<String> {
    String::from_utf8(read_bytes(r)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("not UTF-8: {e}")))
}

pub fn read_strings(r: &mut impl Read) -> io::Result<Vec<String>> {
    let n = read_u64(r)?;
    if n > MAX_STRING {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the daemon sent a list of {n} strings"),
        ));
    }
    (0..n).map(|_| read_string(r)).collect()
}

/// A [`Write`] that sends what it is given as frames of at most [`FramedWriter::FRAME`] bytes;
/// [`FramedWriter::finish`] sends the closing empty frame.
pub struct FramedWriter<'a, W: Write> {
    inner: &'a mut W,
    buf: Vec<u8>,
}

impl<'a, W: Write> FramedWriter<'a, W> {
    pub const FRAME: usize = 64 * 1024;

    pub fn new(inner: &'a mut W) -> Self {
        FramedWriter {
            inner,
            buf: Vec::with_capacity(Self::FRAME),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            write_u64(self.inner, self.buf.len() as u64)?;
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends what is buffered and the empty frame that ends the data.
    pub fn finish(mut self) -> io::Result<()> {
        self.send()?;
        write_u64(self.inner, 0)
    }
}

impl<W: Write> Write for FramedWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(Self::FRAME - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == Self::FRAME {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads framed data back (for tests and fake servers).
pub fn read_framed(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let len = read_u64(r)?;
        if len == 0 {
            return Ok(out);
        }
        if len > MAX_STRING {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a frame of {len} bytes"),
            ));
        }
        let start = out.len();
        out.resize(start + len as usize, 0);
        r.read_exact(&mut out[start..])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_padded_to_eight_bytes() {
        let mut out = Vec::new();
        write_bytes(&mut out, b"abc").unwrap();
        assert_eq!(
            out,
            [3, 0, 0, 0, 0, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]
        );
        write_bytes(&mut out, b"").unwrap();
        assert_eq!(out.len(), 24);
        let mut r = &out[..];
        assert_eq!(read_string(&mut r).unwrap(), "abc");
        assert_eq!(read_string(&mut r).unwrap(), "");
        assert!(r.is_empty());
    }

    #[test]
    fn non_zero_padding_is_rejected() {
        let mut out = Vec::new();
        write_bytes(&mut out, b"abc").unwrap();
        out[12] = 1;
        assert!(read_bytes(&mut &out[..]).is_err());
    }

    #[test]
    fn framed_round_trip_splits_large_data() {
        let data: Vec<u8> = (0..(FramedWriter::<Vec<u8>>::FRAME * 2 + 10))
            .map(|i| i as u8)
            .collect();
        let mut out = Vec::new();
        let mut w = FramedWriter::new(&mut out);
        w.write_all(&data).unwrap();
        w.finish().unwrap();
        // three frames: two full, one of 10 bytes, then the end
        assert_eq!(out.len(), data.len() + 4 * 8);
        assert_eq!(read_framed(&mut &out[..]).unwrap(), data);
    }

    #[test]
    fn empty_framed_data_is_one_zero() {
        let mut out = Vec::new();
        FramedWriter::new(&mut out).finish().unwrap();
        assert_eq!(out, [0u8; 8]);
    }
}
