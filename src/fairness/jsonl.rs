//! JSON Lines logs: one object per line. Only the mapped keys are captured (borrowed from the line when
//! unescaped); other keys are skipped without building values.

use std::borrow::Cow;
use std::fmt;

use memchr::{memchr, memrchr};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::blocks::{Cut, Processed, Records};
use super::error::RowError;
use super::plan::{MAX_ROLES, Plan};
use super::tally::{Pos, Row, Tally};
use super::values::Field;

pub(crate) struct JsonLines {
    columns: Vec<String>,
}

impl JsonLines {
    pub fn new(plan: &Plan) -> JsonLines {
        JsonLines { columns: plan.columns.clone() }
    }
}

#[derive(Debug)]
enum Val<'de> {
    Str(Cow<'de, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Nested,
}

struct ValSeed;

impl<'de> DeserializeSeed<'de> for ValSeed {
    type Value = Val<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val<'de>, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_string())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(i64::try_from(v).map(Val::Int).unwrap_or(Val::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Val::Float(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Val<'de>, A::Error> {
        while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Nested)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Val<'de>, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Val::Nested)
    }
}

/// Which mapped column a key is (None: not mapped), without allocating for plain keys.
struct KeySeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|c| c == v))
    }
}

/// Captures the mapped keys of one object.
struct Capture<'a, 'de> {
    columns: &'a [String],
    out: &'a mut [Option<Val<'de>>; MAX_ROLES],
}

impl<'de> DeserializeSeed<'de> for Capture<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Capture<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        while let Some(k) = m.next_key_seed(KeySeed(self.columns))? {
            match k {
                Some(i) => self.out[i] = Some(m.next_value_seed(ValSeed)?),
                None => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn field<'a>(v: &'a Val<'_>) -> Field<'a> {
    match v {
        Val::Str(s) => Field::Text(s.as_bytes()),
        Val::Int(i) => Field::Int(*i),
        Val::Float(x) => Field::Float(*x),
        Val::Bool(b) => Field::Bool(*b),
        Val::Null | Val::Nested => Field::Null,
    }
}

impl JsonLines {
    fn record(&self, line: &[u8], tally: &mut Tally<'_>, pos: Pos) -> bool {
        let mut vals: [Option<Val<'_>>; MAX_ROLES] = Default::default();
        let mut de = serde_json::Deserializer::from_slice(line);
        let parsed = Capture { columns: &self.columns, out: &mut vals }.deserialize(&mut de).and_then(|_| de.end());
        if let Err(e) = parsed {
            return tally.bad_row(pos, RowError::new(None, format!("not a JSON object: {e}")));
        }
        let mut row = Row::new();
        for (i, col) in self.columns.iter().enumerate() {
            match &vals[i] {
                None => return tally.bad_row(pos, RowError::new(Some(col), "missing from this record")),
                Some(Val::Nested) => {
                    return tally.bad_row(pos, RowError::new(Some(col), "an object or array, not a value"));
                }
                Some(v) => row.cells[i] = field(v),
            }
        }
        tally.push(&row, pos)
    }
}

impl<'p> Records<Tally<'p>> for JsonLines {
    type Scratch = ();

    fn split_point(&self, buf: &[u8]) -> Cut {
        Cut { at: memrchr(b'\n', buf).map_or(0, |i| i + 1), plain: false }
    }

    fn process(&self, block: &[u8], _: bool, major: u64, tally: &mut Tally<'p>, _: &mut ()) -> Processed {
        let n = block.len();
        let (mut pos, mut line) = (0, 0u64);
        while pos < n {
            let end = memchr(b'\n', &block[pos..]).map_or(n, |i| pos + i);
            let mut rec = block[pos..end].trim_ascii();
            if major == 0 && pos == 0 {
                rec = rec.strip_prefix(super::source::BOM).unwrap_or(rec).trim_ascii();
            }
            let at = Pos { major, minor: line };
            line += 1;
            pos = end + 1;
            if rec.is_empty() {
                continue;
            }
            if !self.record(rec, tally, at) {
                return Processed { lines: line, stopped: true };
            }
        }
        Processed { lines: line, stopped: false }
    }
}
