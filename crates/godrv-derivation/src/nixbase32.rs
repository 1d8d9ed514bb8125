//! Nix's base-32 encoding ("nix32"), used for store path hash parts and placeholders.
//!
//! It is not RFC 4648 base32: the alphabet `0123456789abcdfghijklmnpqrsvwxyz` omits `e o t u`
//! (to avoid accidental words), and the bits are taken from the *end* of the byte string, so the
//! first character encodes the most significant bits of the last byte. The encoded length of `n`
//! bytes is `ceil(n * 8 / 5)`: 20 bytes (a store path hash) → 32 characters, 32 bytes (a full
//! sha256) → 52 characters.

/// The 32 digits, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Why a string is not valid nix32.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Nixbase32Error {
    /// A character outside [`ALPHABET`].
    #[error("invalid nix32 character {character:?} at position {position}")]
    InvalidCharacter { character: char, position: usize },
    /// The string has no byte length that encodes to it.
    #[error("invalid nix32 length {0}")]
    InvalidLength(usize),
    /// The leading digit carries bits beyond the decoded length.
    #[error("nix32 string has non-zero padding bits")]
    NonZeroPadding,
}

/// Length of the nix32 encoding of `len` bytes.
pub const fn encoded_len(len: usize) -> usize {
    (len * 8).div_ceil(5)
}

/// Number of bytes a nix32 string of `len` characters decodes to.
pub const fn decoded_len(len: usize) -> usize {
    len * 5 / 8
}

/// Encode bytes as nix32.
pub fn encode(input: &[u8]) -> String {
    let len = encoded_len(input.len());
    let mut out = String::with_capacity(len);
    // Character `len - 1 - n` holds bits 5n .. 5n+4 of the input read as a little-endian number.
    for n in (0..len).rev() {
        let bit = n * 5;
        let (byte, shift) = (bit / 8, bit % 8);
        let low = u16::from(input[byte]) >> shift;
        let high = input
            .get(byte + 1)
            .map_or(0, |b| u16::from(*b) << (8 - shift));
        out.push(char::from(ALPHABET[usize::from((low | high) & 0x1f)]));
    }
    out
}

/// Decode a nix32 string.
pub fn decode(input: &str) -> Result<Vec<u8>, Nixbase32Error> {
    let bytes = input.as_bytes();
    let out_len = decoded_len(bytes.len());
    if encoded_len(out_len) != bytes.len() {
        return Err(Nixbase32Error::InvalidLength(bytes.len()));
    }
    let mut out = vec![0u8; out_len];
    for (position, c) in bytes.iter().enumerate() {
        let digit = ALPHABET.iter().position(|a| a == c).ok_or_else(|| {
            Nixbase32Error::InvalidCharacter {
                character: input[position..].chars().next().unwrap_or('?'),
                position,
            }
        })? as u16;
        let n = bytes.len() - 1 - position;
        let bit = n * 5;
        let (byte, shift) = (bit / 8, bit % 8);
        let value = digit << shift;
        out[byte] |= (value & 0xff) as u8;
        let carry = (value >> 8) as u8;
        if carry != 0 {
            match out.get_mut(byte + 1) {
                Some(b) => *b |= carry,
                None => return Err(Nixbase32Error::NonZeroPadding),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(&[0x1f]), "0z");
        assert_eq!(encode(&[0xff; 20]), "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
        // A store path hash part and the digest Nix derives it from (see tests/).
        assert_eq!(
            encode(&[0u8; 32]),
            "0000000000000000000000000000000000000000000000000000"
        );
    }

    #[test]
    fn round_trip() {
        for len in 0..70usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + len * 11) as u8).collect();
            let s = encode(&data);
            assert_eq!(s.len(), encoded_len(len));
            assert_eq!(decode(&s).unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            decode("0e"),
            Err(Nixbase32Error::InvalidCharacter {
                character: 'e',
                position: 1
            })
        );
        assert_eq!(decode("000"), Err(Nixbase32Error::InvalidLength(3)));
        // 2 characters = 10 bits for 1 byte: the top 2 bits must be zero.
        assert_eq!(decode("zz"), Err(Nixbase32Error::NonZeroPadding));
        assert_eq!(decode("7z"), Ok(vec![0xff]));
    }
}
