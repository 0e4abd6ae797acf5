//! `--plot FILE.svg`: records/s against N for every system measured at more
//! than one N, on log scales (the systems span two orders of magnitude).

use crate::results::CaseResult;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const W: f64 = 860.0;
const H: f64 = 520.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 300.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The SVG document.
pub fn svg(cases: &[CaseResult], title: &str) -> String {
    let mut series: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
    for c in cases
        .iter()
        .filter(|c| c.error.is_none() && c.median.records_per_s > 0.0)
    {
        series
            .entry(format!("{} {}", c.scenario, c.system))
            .or_default()
            .push((c.n, c.median.records_per_s));
    }
    series.retain(|_, points| points.len() > 1);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="24" font-size="15">{}</text>"#,
        escape(title)
    );
    if series.is_empty() {
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="{}">no system was measured at more than one N</text></svg>"#,
            H / 2.0
        );
        return s;
    }
    let ns: Vec<usize> = {
        let mut v: Vec<usize> = series.values().flatten().map(|p| p.0).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let rates = series.values().flatten().map(|p| p.1);
    let lo = rates.clone().fold(f64::MAX, f64::min).log10().floor();
    let hi = rates.fold(0.0, f64::max).log10().ceil().max(lo + 1.0);
    let (x0, x1) = (
        (ns[0] as f64).log2(),
        (ns[ns.len() - 1] as f64)
            .log2()
            .max((ns[0] as f64).log2() + 1.0),
    );
    let px = |n: usize| LEFT + ((n as f64).log2() - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |r: f64| H - BOTTOM - (r.log10() - lo) / (hi - lo) * (H - TOP - BOTTOM);
    // Axes, grid and labels.
    let _ = writeln!(s, r##"<g stroke="#ccc">"##);
    let mut decade = lo;
    while decade <= hi {
        let y = py(10f64.powf(decade));
        let _ = writeln!(
            s,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
            W - RIGHT
        );
        decade += 1.0;
    }
    let _ = writeln!(s, "</g>");
    let mut decade = lo;
    while decade <= hi {
        let y = py(10f64.powf(decade));
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            crate::units::fmt_rate(10f64.powf(decade))
        );
        decade += 1.0;
    }
    for &n in &ns {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{n}</text>"#,
            px(n),
            H - BOTTOM + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">N (producer processes or threads)</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 16.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">records/s (log scale)</text>"#,
        (TOP + H - BOTTOM) / 2.0
    );
    // One line per system, with its legend entry.
    for (i, (name, points)) in series.iter_mut().enumerate() {
        points.sort_by_key(|p| p.0);
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = points
            .iter()
            .map(|&(n, r)| format!("{:.1},{:.1}", px(n), py(r)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            path.join(" ")
        );
        for &(n, r) in points.iter() {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                px(n),
                py(r)
            );
        }
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = W - RIGHT + 20.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/>"#,
            lx + 22.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 28.0,
            ly + 4.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_system_measured_at_several_n() {
        let case = |system: &str, n: usize, rate: f64| {
            let mut c = CaseResult {
                scenario: "s1".into(),
                system: system.into(),
                n,
                ..CaseResult::default()
            };
            c.median.records_per_s = rate;
            c
        };
        let cases = [
            case("a", 1, 1e5),
            case("a", 4, 3e5),
            case("b", 1, 2e4),
            case("b", 4, 5e4),
            case("c", 4, 1e6),
        ];
        let doc = svg(&cases, "t <1>");
        assert_eq!(doc.matches("<polyline").count(), 2);
        assert!(doc.contains("s1 a") && !doc.contains("s1 c") && doc.contains("t &lt;1&gt;"));
    }
}
