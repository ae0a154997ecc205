//! Interning of cell values per worker (bytes -> small index) and the hasher for small keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::Encoding;

/// A fast multiplicative hasher for small keys (the FxHash idea); keys here are not attacker-chosen in
/// any way that matters (a slow file, at worst).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        w[..rest.len()].copy_from_slice(rest);
        self.write_u64(u64::from_le_bytes(w) ^ (rest.len() as u64) << 59);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

const MAX_DISTINCT: usize = 0xFFFF;

/// A value of up to 7 bytes packed with its length into one word, so the usual short group values are
/// found with one multiply and one integer compare.
#[inline]
fn pack(v: &[u8]) -> Option<u64> {
    if v.len() > 7 {
        return None;
    }
    let mut k = (v.len() as u64) << 56;
    for (i, &c) in v.iter().enumerate() {
        k |= (c as u64) << (8 * i);
    }
    Some(k)
}

const SLOTS: usize = 64;

#[inline]
fn slot(k: u64) -> usize {
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize
}

/// Why a value could not be interned.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// More than 65535 distinct values.
    TooMany,
    /// Not valid text in the plan's encoding (only UTF-8 refuses).
    NotText,
}

/// Distinct values of one column, as byte strings: two values are one key only when their bytes are
/// equal, and every value is checked to be text in the encoding when first seen, so that the names
/// handed over (decoded, never lossily) are as distinct as the bytes. Short values (<= 7 bytes, up to 32 of them) live in a small
/// open-addressing table of packed words; every value is also in a hash map of byte strings.
pub(crate) struct Interner {
    values: Vec<Box<[u8]>>,
    /// Index + 1 into `values` (0 = empty).
    small: [u32; SLOTS],
    small_len: usize,
    packed: Vec<u64>,
    map: FxMap<Box<[u8]>, u32>,
    encoding: Encoding,
}

impl Interner {
    pub fn new(encoding: Encoding) -> Interner {
        Interner { values: Vec::new(), small: [0; SLOTS], small_len: 0, packed: Vec::new(), map: FxMap::default(), encoding }
    }

    #[inline]
    pub fn get(&mut self, v: &[u8]) -> Result<u32, Refused> {
        let key = pack(v);
        if let Some(k) = key {
            let mut h = slot(k);
            loop {
                let e = self.small[h] as usize;
                if e == 0 {
                    break;
                }
                if self.packed[e - 1] == k {
                    return Ok(e as u32 - 1);
                }
                h = (h + 1) % SLOTS;
            }
        }
        self.get_slow(v, key)
    }

    fn get_slow(&mut self, v: &[u8], key: Option<u64>) -> Result<u32, Refused> {
        if let Some(&i) = self.map.get(v) {
            return Ok(i);
        }
        if self.values.len() >= MAX_DISTINCT {
            return Err(Refused::TooMany);
        }
        if self.encoding == Encoding::Utf8 && std::str::from_utf8(v).is_err() {
            return Err(Refused::NotText);
        }
        let i = self.values.len() as u32;
        self.values.push(v.into());
        self.packed.push(key.unwrap_or(u64::MAX));
        self.map.insert(v.into(), i);
        if let Some(k) = key
            && self.small_len < SLOTS / 2
        {
            let mut h = slot(k);
            while self.small[h] != 0 {
                h = (h + 1) % SLOTS;
            }
            self.small[h] = i + 1;
            self.small_len += 1;
        }
        Ok(i)
    }

    /// The value decoded in the encoding (checked when it was interned, so nothing is lost).
    pub fn name(&self, i: u32) -> String {
        self.values
            .get(i as usize)
            .map(|b| self.encoding.decode(b).unwrap_or_else(|| String::from_utf8_lossy(b).into_owned()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_short_long_and_many_values() {
        let mut n = Interner::new(Encoding::Utf8);
        let vals: Vec<String> = (0..200).map(|i| if i % 3 == 0 { format!("long value {i}") } else { format!("v{i}") }).collect();
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(n.get(v.as_bytes()), Ok(i as u32));
        }
        for (i, v) in vals.iter().enumerate().rev() {
            assert_eq!(n.get(v.as_bytes()), Ok(i as u32));
            assert_eq!(n.name(i as u32), *v);
        }
        assert_eq!(n.get(b""), Ok(200));
        assert_eq!(n.get(b"\0"), Ok(201)); // not confused with "" by the packing
    }

    #[test]
    fn distinct_bytes_stay_distinct_names() {
        let mut utf8 = Interner::new(Encoding::Utf8);
        assert_eq!(utf8.get(b"Caf\xe9"), Err(Refused::NotText));
        let mut latin = Interner::new(Encoding::Latin1);
        let (a, b) = (latin.get(b"Caf\xe9"), latin.get(b"Caf\xe8"));
        assert_eq!((a, b), (Ok(0), Ok(1)));
        assert_eq!((latin.name(0).as_str(), latin.name(1).as_str()), ("Caf\u{e9}", "Caf\u{e8}"));
    }
}
