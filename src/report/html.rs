//! One self-contained HTML file: inline CSS (screen and print), charts as inline SVG, no script and no
//! external resource. Every string is shown through `text::shown` and HTML-escaped.

use std::fmt::Write;

use super::ReportData;
use super::chart::{self, Anchor, Prim, Rgb};
use super::document::{Block, Table, blocks};
use super::text::shown;

const CSS: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px auto;max-width:1100px;color:#1e1e1e;font-size:13px}\
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;border-bottom:1px solid #bbb;margin-top:28px}h3{font-size:14px;margin-top:18px}\
table{border-collapse:collapse;width:100%;margin:8px 0;table-layout:auto}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{white-space:nowrap}td.long{overflow-wrap:anywhere}\
th{background:#eef1f5}tr:nth-child(even) td{background:#fafafa}table.facts th{width:28%;white-space:normal}svg{display:block;margin:8px 0}\
.page-break{break-after:page}@media print{body{margin:0;max-width:none;font-size:10px}h2{break-after:avoid}tr,svg{break-inside:avoid}thead{display:table-header-group}}";

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn safe(s: &str) -> String {
    escape(&shown(s))
}

pub fn render(d: &ReportData) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{}</title><style>{CSS}</style></head><body>\n",
        safe(&format!("Audit report: {}", d.model.name))
    );
    for b in blocks(d) {
        block(&mut h, &b);
    }
    h.push_str("</body></html>\n");
    h
}

fn block(h: &mut String, b: &Block) {
    match b {
        Block::Title(t) => {
            let _ = writeln!(h, "<h1>{}</h1>", safe(t));
        }
        Block::Heading(t) => {
            let _ = writeln!(h, "<h2>{}</h2>", safe(t));
        }
        Block::Subheading(t) => {
            let _ = writeln!(h, "<h3>{}</h3>", safe(t));
        }
        Block::Para(t) => {
            let _ = writeln!(h, "<p>{}</p>", safe(t));
        }
        Block::Facts { rows, .. } => {
            h.push_str("<table class=\"facts\">");
            for (k, v) in rows {
                let _ = write!(h, "<tr><th>{}</th>{}{}</td></tr>", safe(k), td(v), safe(v));
            }
            h.push_str("</table>\n");
        }
        Block::Table(t) => table(h, t),
        Block::Chart(c) => svg(h, c),
        Block::PageBreak => h.push_str("<div class=\"page-break\"></div>\n"),
    }
}

/// A cell's opening tag: text with a word too long for a column may break anywhere.
fn td(text: &str) -> &'static str {
    if text.split_whitespace().any(|w| w.chars().count() > 30) { "<td class=\"long\">" } else { "<td>" }
}

fn table(h: &mut String, t: &Table) {
    h.push_str("<table><thead><tr>");
    for c in &t.columns {
        let _ = write!(h, "<th>{}</th>", safe(c));
    }
    h.push_str("</tr></thead><tbody>\n");
    for r in &t.rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "{}{}</td>", td(c), safe(c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table>\n");
}

fn rgb(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn svg(h: &mut String, c: &chart::Chart) {
    let w = 760.0;
    let ht = chart::height(c, w);
    let _ = write!(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" font-family=\"DejaVu Sans,Arial,sans-serif\">");
    for p in chart::layout(c, w) {
        match p {
            Prim::Line { x1, y1, x2, y2, color, width } => {
                let _ = write!(h, "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{}\" stroke-width=\"{width}\"/>", rgb(color));
            }
            Prim::Polyline { points, color, width } => {
                let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(h, "<polyline fill=\"none\" points=\"{}\" stroke=\"{}\" stroke-width=\"{width}\"/>", pts.join(" "), rgb(color));
            }
            Prim::Rect { x, y, w, h: rh, color } => {
                let _ = write!(h, "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{rh:.1}\" fill=\"{}\"/>", rgb(color));
            }
            Prim::Text { x, y, size, text, anchor, color } => {
                let a = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = write!(h, "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" text-anchor=\"{a}\" fill=\"{}\">{}</text>", rgb(color), safe(&text));
            }
        }
    }
    h.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("<script>\"x\" & 'y'</script>"), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;");
    }
}
