//! PDF through krilla: A4 pages laid out from the report's blocks (summary page first), tables with
//! repeated headers, vector charts, "Page i of N" footers. DejaVu Sans Condensed is embedded (subset,
//! with a ToUnicode map), so text extraction gives back the text; characters it lacks (CJK names...)
//! come from a system font found by the OS's fallback ([`super::fonts`]), embedded the same way. Untrusted strings are drawn as
//! glyphs only, after `text::shown`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use super::chart::{self, Anchor, Prim, Rgb};
use super::document::{Block, Table, blocks};
use super::fonts::Fallback;
use super::text::shown;
use super::{ReportData, ReportError};

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansCondensed-Bold.ttf");

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 40.0;
const RIGHT: f32 = PAGE_W - 40.0;
const TOP: f32 = 48.0;
const BOTTOM: f32 = PAGE_H - 56.0;
const BODY: f32 = 8.5;
const CELL: f32 = 7.0;
const INK: Rgb = (30, 30, 30);
const HEADER_BG: Rgb = (232, 236, 242);
const RULE: Rgb = (190, 190, 190);

/// Glyph ids and advances (in em) from the font's tables, cached per character. Text is drawn glyph by
/// glyph from these (no shaping: Latin text in one font needs none, and it keeps large reports fast).
/// A character the bundled font lacks comes from a system fallback face ([`Fallback`]); face 0 is the
/// bundled font, face i + 1 the fallback's face i.
struct Metrics {
    font: skrifa::FontRef<'static>,
    fallback: Rc<Fallback>,
    cache: RefCell<HashMap<char, (usize, u32, f32)>>,
}

impl Metrics {
    fn new(data: &'static [u8], fallback: Rc<Fallback>) -> Result<Metrics, ReportError> {
        let font = skrifa::FontRef::new(data).map_err(|e| ReportError::Render(format!("embedded font: {e}")))?;
        Ok(Metrics { font, fallback, cache: RefCell::new(HashMap::new()) })
    }

    /// (face, glyph id, advance in em) of a character; the bundled font's .notdef for characters no
    /// installed font has.
    fn glyph(&self, c: char) -> (usize, u32, f32) {
        if let Some(g) = self.cache.borrow().get(&c) {
            return *g;
        }
        let advance = |f: &skrifa::FontRef<'_>, gid: skrifa::GlyphId| {
            let upem = f.metrics(Size::unscaled(), LocationRef::default()).units_per_em.max(1) as f32;
            f.glyph_metrics(Size::unscaled(), LocationRef::default()).advance_width(gid).unwrap_or(0.0) / upem
        };
        let own = self.font.charmap().map(c).filter(|g| *g != skrifa::GlyphId::NOTDEF);
        let g = match own {
            Some(gid) => (0, gid.to_u32(), advance(&self.font, gid)),
            None if c.is_whitespace() || c.is_control() => (0, 0, advance(&self.font, skrifa::GlyphId::NOTDEF)),
            None => {
                let found = self.fallback.face_for(c).and_then(|i| {
                    let face = self.fallback.faces().get(i)?.clone();
                    let f = face.font_ref()?;
                    let gid = f.charmap().map(c)?;
                    Some((i + 1, gid.to_u32(), advance(&f, gid)))
                });
                found.unwrap_or((0, 0, advance(&self.font, skrifa::GlyphId::NOTDEF)))
            }
        };
        self.cache.borrow_mut().insert(c, g);
        g
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.glyph(c).2).sum::<f32>() * size
    }

    /// Runs of glyphs in one face each: (face, byte range of `s`, glyphs with ranges relative to the run).
    fn runs(&self, s: &str) -> Vec<(usize, std::ops::Range<usize>, Vec<KrillaGlyph>)> {
        let mut runs: Vec<(usize, std::ops::Range<usize>, Vec<KrillaGlyph>)> = Vec::new();
        for (i, c) in s.char_indices() {
            let (face, gid, adv) = self.glyph(c);
            if runs.last().is_none_or(|r| r.0 != face) {
                runs.push((face, i..i, Vec::new()));
            }
            let Some(run) = runs.last_mut() else { continue };
            let start = run.1.start;
            run.1.end = i + c.len_utf8();
            run.2.push(KrillaGlyph {
                glyph_id: GlyphId::new(gid),
                text_range: i - start..i - start + c.len_utf8(),
                x_advance: adv,
                x_offset: 0.0,
                y_offset: 0.0,
                y_advance: 0.0,
                location: None,
            });
        }
        runs
    }
}

/// A font for drawing and its metrics for laying out, with the fallback faces' fonts made on first use.
struct Face<'a> {
    font: Font,
    metrics: &'a Metrics,
    fallback: &'a RefCell<HashMap<usize, Option<Font>>>,
}

impl Face<'_> {
    fn font(&self, face: usize) -> Option<Font> {
        if face == 0 {
            return Some(self.font.clone());
        }
        let mut fonts = self.fallback.borrow_mut();
        fonts
            .entry(face)
            .or_insert_with(|| {
                let f = self.metrics.fallback.faces().get(face - 1)?.clone();
                Font::new(f.data.into(), f.index)
            })
            .clone()
    }
}

enum Op {
    Text { x: f32, y: f32, size: f32, bold: bool, text: String, color: Rgb },
    Prim(Prim),
}

struct Layout {
    regular: Metrics,
    bold: Metrics,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let n = self.pages.len() - 1;
        &mut self.pages[n]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn ensure(&mut self, h: f32) {
        if self.y + h > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    fn metrics(&self, bold: bool) -> &Metrics {
        if bold { &self.bold } else { &self.regular }
    }

    /// Greedy word wrap to `width`; words longer than a line are cut by characters.
    fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let m = self.metrics(bold);
        let space = m.width(" ", size);
        let mut lines = Vec::new();
        let mut cur = String::new();
        let mut cur_w = 0.0;
        for word in text.split(' ') {
            let ww = m.width(word, size);
            if !cur.is_empty() && cur_w + space + ww <= width {
                cur.push(' ');
                cur.push_str(word);
                cur_w += space + ww;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            if ww <= width {
                cur = word.to_string();
                cur_w = ww;
                continue;
            }
            cur_w = 0.0;
            for c in word.chars() {
                let cw = m.width(c.encode_utf8(&mut [0; 4]), size);
                if cur_w + cw > width && !cur.is_empty() {
                    lines.push(std::mem::take(&mut cur));
                    cur_w = 0.0;
                }
                cur.push(c);
                cur_w += cw;
            }
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: String) {
        self.page().push(Op::Text { x, y, size, bold, text, color: INK });
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool) {
        for line in self.wrap(&shown(text), size, bold, RIGHT - LEFT) {
            self.ensure(size * 1.35);
            self.y += size * 1.35;
            let y = self.y - size * 0.3;
            self.text(LEFT, y, size, bold, line);
        }
        self.y += size * 0.6;
    }

    fn heading(&mut self, text: &str, size: f32, rule: bool) {
        self.ensure(size * 2.5 + 60.0);
        self.y += size * 0.8;
        self.paragraph(text, size, true);
        if rule {
            let y = self.y - 3.0;
            self.page().push(Op::Prim(Prim::Line { x1: LEFT, y1: y, x2: RIGHT, y2: y, color: RULE, width: 0.6 }));
            self.y += 3.0;
        }
    }

    /// A table; `header` false draws label/value facts (first column bold).
    fn table(&mut self, columns: &[String], widths: &[f32], rows: &[Vec<String>], header: bool) {
        let total: f32 = widths.iter().sum::<f32>().max(0.001);
        let prop: Vec<f32> = widths.iter().map(|w| w / total * (RIGHT - LEFT)).collect();
        // Each column at least as wide as its longest word (header included), so that words such as
        // "succeeded" are not cut in two; the others give up their slack in proportion.
        let longest_word = |text: &str, bold: bool| -> f32 {
            shown(text).split(' ').map(|w| self.metrics(bold).width(w, CELL)).fold(0.0, f32::max) + 6.5
        };
        let min: Vec<f32> = (0..prop.len())
            .map(|i| {
                let head = if header { columns.get(i).map(|c| longest_word(c, true)).unwrap_or(0.0) } else { 0.0 };
                rows.iter().map(|r| longest_word(r.get(i).map(String::as_str).unwrap_or(""), !header && i == 0)).fold(head, f32::max)
            })
            .collect();
        let cols = fit_columns(&prop, &min, RIGHT - LEFT);
        let line_h = CELL * 1.3;
        let draw_header = |l: &mut Layout| {
            if header {
                l.row(columns, &cols, line_h, true, Some(HEADER_BG));
            }
        };
        self.ensure(line_h * 3.0 + 6.0);
        draw_header(self);
        for r in rows {
            let cells: Vec<Vec<String>> = cols
                .iter()
                .enumerate()
                .map(|(i, w)| self.wrap(&shown(r.get(i).map(String::as_str).unwrap_or("")), CELL, !header && i == 0, w - 6.0))
                .collect();
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h + 4.0;
            if self.y + h > BOTTOM {
                self.new_page();
                draw_header(self);
            }
            self.cells(&cells, &cols, line_h, !header, None);
        }
        self.y += 8.0;
    }

    fn row(&mut self, texts: &[String], cols: &[f32], line_h: f32, bold: bool, bg: Option<Rgb>) {
        let cells: Vec<Vec<String>> = cols.iter().enumerate().map(|(i, w)| self.wrap(&shown(&texts[i]), CELL, bold, w - 6.0)).collect();
        self.cells(&cells, cols, line_h, bold, bg);
    }

    /// Draws one row of already wrapped cells at the current position.
    fn cells(&mut self, cells: &[Vec<String>], cols: &[f32], line_h: f32, first_bold: bool, bg: Option<Rgb>) {
        let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h + 4.0;
        let top = self.y;
        if let Some(color) = bg {
            self.page().push(Op::Prim(Prim::Rect { x: LEFT, y: top, w: RIGHT - LEFT, h, color }));
        }
        let mut x = LEFT;
        for (i, lines) in cells.iter().enumerate() {
            for (j, line) in lines.iter().enumerate() {
                let bold = bg.is_some() || (first_bold && i == 0);
                self.text(x + 3.0, top + 2.0 + line_h * (j as f32 + 1.0) - 2.0, CELL, bold, line.clone());
            }
            x += cols[i];
        }
        let y = top + h;
        self.page().push(Op::Prim(Prim::Line { x1: LEFT, y1: y, x2: RIGHT, y2: y, color: RULE, width: 0.4 }));
        self.y = y;
    }

    fn chart(&mut self, c: &chart::Chart) {
        let w = RIGHT - LEFT;
        let h = chart::height(c, w);
        self.ensure(h + 10.0);
        let (dx, dy) = (LEFT, self.y + 4.0);
        for p in chart::layout(c, w) {
            let moved = match p {
                Prim::Line { x1, y1, x2, y2, color, width } => Prim::Line { x1: x1 + dx, y1: y1 + dy, x2: x2 + dx, y2: y2 + dy, color, width },
                Prim::Polyline { points, color, width } => {
                    Prim::Polyline { points: points.into_iter().map(|(x, y)| (x + dx, y + dy)).collect(), color, width }
                }
                Prim::Rect { x, y, w, h, color } => Prim::Rect { x: x + dx, y: y + dy, w, h, color },
                Prim::Text { x, y, size, text, anchor, color } => {
                    let tw = self.regular.width(&shown(&text), size);
                    let x = match anchor {
                        Anchor::Start => x,
                        Anchor::Middle => x - tw / 2.0,
                        Anchor::End => x - tw,
                    };
                    self.page().push(Op::Text { x: x + dx, y: y + dy, size, bold: false, text: shown(&text), color });
                    continue;
                }
            };
            self.page().push(Op::Prim(moved));
        }
        self.y += h + 10.0;
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Title(t) => self.heading(t, 18.0, false),
            Block::Heading(t) => self.heading(t, 13.0, true),
            Block::Subheading(t) => self.heading(t, 10.0, false),
            Block::Para(t) => self.paragraph(t, BODY, false),
            Block::Facts { rows, .. } => {
                let rows: Vec<Vec<String>> = rows.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
                self.table(&[String::new(), String::new()], &[1.0, 2.6], &rows, false);
            }
            Block::Table(Table { columns, widths, rows, .. }) => self.table(columns, widths, rows, true),
            Block::Chart(c) => self.chart(c),
            Block::PageBreak => self.new_page(),
        }
    }
}

fn color(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

/// Lays out and writes the whole document.
pub fn render(d: &ReportData) -> Result<Vec<u8>, ReportError> {
    let fallback = Rc::new(Fallback::default());
    let mut l = Layout {
        regular: Metrics::new(REGULAR, fallback.clone())?,
        bold: Metrics::new(BOLD, fallback.clone())?,
        pages: Vec::new(),
        y: TOP,
    };
    for b in blocks(d) {
        l.block(&b);
    }
    let font = |data: &'static [u8]| Font::new(data.into(), 0).ok_or_else(|| ReportError::Render("the embedded font cannot be read".into()));
    let fallback_fonts = RefCell::new(HashMap::new());
    let regular = Face { font: font(REGULAR)?, metrics: &l.regular, fallback: &fallback_fonts };
    let bold = Face { font: font(BOLD)?, metrics: &l.bold, fallback: &fallback_fonts };
    let footer = shown(&format!("Audit report: {} · made {}", d.model.name, d.made.at));
    let mut doc = Document::new();
    doc.set_metadata(
        krilla::metadata::Metadata::new()
            .title(shown(&format!("Audit report: {}", d.model.name)))
            .creator(format!("Steward {}", d.made.steward_version)),
    );
    let n = l.pages.len();
    let size = krilla::geom::Size::from_wh(PAGE_W, PAGE_H).ok_or_else(|| ReportError::Render("page size".into()))?;
    for (i, ops) in l.pages.iter().enumerate() {
        let mut page = doc.start_page_with(PageSettings::new(size));
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, bold: b, text, color: c } => {
                    draw_text(&mut s, *x, *y, *size, if *b { &bold } else { &regular }, text, *c)
                }
                Op::Prim(p) => prim(&mut s, p),
            }
        }
        let label = format!("Page {} of {n}", i + 1);
        draw_text(&mut s, LEFT, PAGE_H - 28.0, 7.0, &regular, &footer, (110, 110, 110));
        draw_text(&mut s, RIGHT - l.regular.width(&label, 7.0), PAGE_H - 28.0, 7.0, &regular, &label, (110, 110, 110));
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| ReportError::Render(format!("PDF: {e:?}")))
}

fn draw_text(s: &mut krilla::surface::Surface<'_>, x: f32, y: f32, size: f32, face: &Face<'_>, text: &str, c: Rgb) {
    s.set_stroke(None);
    s.set_fill(Some(Fill { paint: color(c), ..Fill::default() }));
    let mut x = x;
    for (i, range, glyphs) in face.metrics.runs(text) {
        let advance: f32 = glyphs.iter().map(|g| g.x_advance).sum::<f32>() * size;
        if let Some(font) = face.font(i) {
            s.draw_glyphs(Point::from_xy(x, y), &glyphs, font, &text[range], size, false);
        }
        x += advance;
    }
}

fn prim(s: &mut krilla::surface::Surface<'_>, p: &Prim) {
    let mut pb = PathBuilder::new();
    match p {
        Prim::Line { x1, y1, x2, y2, color: c, width } => {
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            stroke(s, pb, *c, *width);
        }
        Prim::Polyline { points, color: c, width } => {
            let Some((first, rest)) = points.split_first() else { return };
            pb.move_to(first.0, first.1);
            for (x, y) in rest {
                pb.line_to(*x, *y);
            }
            stroke(s, pb, *c, *width);
        }
        Prim::Rect { x, y, w, h, color: c } => {
            let Some(r) = Rect::from_xywh(*x, *y, w.max(0.01), h.max(0.01)) else { return };
            pb.push_rect(r);
            if let Some(path) = pb.finish() {
                s.set_stroke(None);
                s.set_fill(Some(Fill { paint: color(*c), ..Fill::default() }));
                s.draw_path(&path);
            }
        }
        Prim::Text { .. } => {}
    }
}

fn stroke(s: &mut krilla::surface::Surface<'_>, pb: PathBuilder, c: Rgb, width: f32) {
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke { paint: color(c), width, ..Stroke::default() }));
        s.draw_path(&path);
    }
}

/// Column widths summing to `total`: each at least its `min` when the mins fit, taking the extra from
/// the columns with slack (width above their own min) in proportion to that slack; the proportional
/// widths otherwise.
fn fit_columns(prop: &[f32], min: &[f32], total: f32) -> Vec<f32> {
    let need: f32 = min.iter().sum();
    if need > total || prop.len() != min.len() {
        return prop.to_vec();
    }
    let deficit: f32 = prop.iter().zip(min).map(|(p, m)| (m - p).max(0.0)).sum();
    if deficit <= 0.0 {
        return prop.to_vec();
    }
    let slack: f32 = prop.iter().zip(min).map(|(p, m)| (p - m).max(0.0)).sum();
    prop.iter()
        .zip(min)
        .map(|(p, m)| if p < m { *m } else { p - (p - m) * (deficit / slack.max(f32::EPSILON)).min(1.0) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::fit_columns;

    #[test]
    fn columns_grow_to_their_longest_word_and_still_fill_the_width() {
        let cols = fit_columns(&[100.0, 40.0, 360.0], &[30.0, 60.0, 50.0], 500.0);
        assert!(cols[1] >= 60.0, "{cols:?}");
        assert!((cols.iter().sum::<f32>() - 500.0).abs() < 0.01, "{cols:?}");
        assert!(cols.iter().zip([30.0, 60.0, 50.0]).all(|(c, m)| *c >= m - 0.01), "{cols:?}");
        // Mins that cannot all fit: the proportions are kept (long words are cut then).
        assert_eq!(fit_columns(&[50.0, 50.0], &[80.0, 80.0], 100.0), vec![50.0, 50.0]);
    }
}
