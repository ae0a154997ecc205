//! Fallback fonts for the PDF: characters the bundled DejaVu Sans lacks (CJK model names, Arabic,
//! Devanagari...) are drawn with an installed system font found through the operating system's own
//! fallback (fontconfig on Linux, CoreText, DirectWrite) by [`fontique`], the same library the window's
//! font provider uses, so a name reads the same in the window and in the report.
//!
//! The system fonts are enumerated only when a report contains a character the bundled font lacks
//! (enumeration can take a few hundred milliseconds). A character no installed font has is drawn as
//! the bundled font's .notdef box, and [`Fallback::missing`] lists it so the caller can say so.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use fontique::{Collection, CollectionOptions, FallbackKey, GenericFamily, QueryFamily, QueryStatus, Script, SourceCache};
use skrifa::MetadataProvider;

/// One system font used for fallback: its bytes (memory-mapped, shared) and its index in a collection.
#[derive(Clone)]
pub struct FallbackFace {
    /// The font file's bytes.
    pub data: Arc<dyn AsRef<[u8]> + Send + Sync>,
    /// Index of the face in a TrueType collection (.ttc); 0 for a single font.
    pub index: u32,
    /// The family name, for diagnostics ("WenQuanYi Micro Hei").
    pub family: String,
}

impl FallbackFace {
    /// The face parsed for metrics; `None` if the file does not parse.
    pub fn font_ref(&self) -> Option<skrifa::FontRef<'_>> {
        skrifa::FontRef::from_index((*self.data).as_ref(), self.index).ok()
    }
}

struct System {
    collection: Collection,
    cache: SourceCache,
}

/// Per-document fallback lookup: characters to faces, memoised, enumerating the system fonts lazily.
#[derive(Default)]
pub struct Fallback {
    system: RefCell<Option<System>>,
    faces: RefCell<Vec<FallbackFace>>,
    by_char: RefCell<HashMap<char, Option<usize>>>,
    missing: RefCell<BTreeSet<char>>,
}

impl Fallback {
    /// The index (into [`Fallback::faces`]) of a system face with a glyph for `c`, or `None` when no
    /// installed font has one (then `c` is added to [`Fallback::missing`]).
    pub fn face_for(&self, c: char) -> Option<usize> {
        if let Some(found) = self.by_char.borrow().get(&c) {
            return *found;
        }
        let found = self.find(c);
        if found.is_none() && !c.is_control() {
            self.missing.borrow_mut().insert(c);
        }
        self.by_char.borrow_mut().insert(c, found);
        found
    }

    /// The faces found so far, in the order their indices were handed out.
    pub fn faces(&self) -> Vec<FallbackFace> {
        self.faces.borrow().clone()
    }

    /// Characters no installed font could draw.
    pub fn missing(&self) -> Vec<char> {
        self.missing.borrow().iter().copied().collect()
    }

    fn find(&self, c: char) -> Option<usize> {
        let mut system = self.system.borrow_mut();
        let System { collection, cache } = system.get_or_insert_with(|| System {
            collection: Collection::new(CollectionOptions { shared: false, system_fonts: true }),
            cache: SourceCache::default(),
        });
        let mut found = None;
        // A script's fallback first (per locale for Han, whose fonts each cover a different set), then
        // the generic families for characters of no script (symbols, punctuation).
        let keys: Vec<Option<FallbackKey>> = match script_of(c) {
            Some(s) if s == Script::from_bytes(*b"Hani") => {
                ["zh-SG", "zh-TW", "ja", "ko"].iter().map(|l| Some(FallbackKey::new(s, fontique::Language::parse(l).ok().as_ref()))).collect()
            }
            Some(s) => vec![Some(FallbackKey::new(s, None))],
            None => vec![None],
        };
        for key in keys {
            let mut q = collection.query(cache);
            q.set_families([QueryFamily::Generic(GenericFamily::SansSerif), QueryFamily::Generic(GenericFamily::SystemUi)]);
            if let Some(k) = key {
                q.set_fallbacks(k);
            }
            q.matches_with(|font| {
                if has_outline(font.blob.as_ref(), font.index, c) {
                    found = Some(font.clone());
                    QueryStatus::Stop
                } else {
                    QueryStatus::Continue
                }
            });
            if found.is_some() {
                break;
            }
        }
        let font = found?;
        let family = collection.family_name(font.family.0).unwrap_or("unknown").to_string();
        let mut faces = self.faces.borrow_mut();
        // One entry per (file, index): a second character from the same face reuses it.
        if let Some(i) = faces.iter().position(|f| f.family == family && f.index == font.index) {
            return Some(i);
        }
        let (data, _) = font.blob.into_raw_parts();
        faces.push(FallbackFace { data, index: font.index, family });
        Some(faces.len() - 1)
    }
}

/// Does the face at `index` of `data` have an outline glyph (not .notdef) for `c`?
pub fn has_outline(data: &[u8], index: u32, c: char) -> bool {
    let Ok(f) = skrifa::FontRef::from_index(data, index) else { return false };
    match f.charmap().map(c) {
        Some(g) if g != skrifa::GlyphId::NOTDEF => f.outline_glyphs().get(g).is_some(),
        _ => false,
    }
}

/// The script of a character, or `None` for characters shared between scripts.
fn script_of(c: char) -> Option<Script> {
    use unicode_script::UnicodeScript;
    match c.script() {
        unicode_script::Script::Common | unicode_script::Script::Inherited | unicode_script::Script::Unknown => None,
        s => Script::parse(s.short_name()).ok(),
    }
}
