//! The drill's timeline, printed and written as Markdown and as an SVG Gantt chart.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One bar of the timeline, in modeled seconds since the failure began.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub start: f64,
    pub end: f64,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub title: String,
    pub scenario: String,
    pub spans: Vec<Span>,
    /// (label, value) lines shown under the timeline: RTO, RPO evidence, token, events.
    pub facts: Vec<(String, String)>,
    pub notes: Vec<String>,
    pub wall_seconds: f64,
}

impl Report {
    pub fn span(&mut self, name: &str, start: f64, end: f64, outcome: &str, detail: impl Into<String>) {
        self.spans.push(Span { name: name.into(), start, end, outcome: outcome.into(), detail: detail.into() });
    }

    pub fn fact(&mut self, label: &str, value: impl Into<String>) {
        self.facts.push((label.into(), value.into()));
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{}", self.title);
        let _ = writeln!(s, "scenario: {}\n", self.scenario);
        let _ = writeln!(
            s,
            "{:<28} {:>9} {:>9} {:>9}  {:<10} {}",
            "step", "start s", "end s", "took s", "outcome", "detail"
        );
        for sp in &self.spans {
            let _ = writeln!(
                s,
                "{:<28} {:>9.1} {:>9.1} {:>9.1}  {:<10} {}",
                sp.name,
                sp.start,
                sp.end,
                sp.end - sp.start,
                sp.outcome,
                sp.detail
            );
        }
        s.push('\n');
        for (k, v) in &self.facts {
            let _ = writeln!(s, "{k}: {v}");
        }
        let _ = writeln!(s, "wall time of the drill: {:.1} s", self.wall_seconds);
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }

    pub fn markdown(&self, svg_name: &str) -> String {
        let mut s = format!("# {}\n\nScenario: {}\n\n![timeline]({svg_name})\n\n", self.title, self.scenario);
        s.push_str("| Step | Start (s) | End (s) | Took (s) | Outcome | Detail |\n|---|---:|---:|---:|---|---|\n");
        for sp in &self.spans {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.1} | {:.1} | {} | {} |",
                sp.name,
                sp.start,
                sp.end,
                sp.end - sp.start,
                sp.outcome,
                sp.detail.replace('|', "\\|")
            );
        }
        s.push_str("\n| Fact | Value |\n|---|---|\n");
        for (k, v) in &self.facts {
            let _ = writeln!(s, "| {k} | {} |", v.replace('|', "\\|"));
        }
        let _ = writeln!(s, "| Wall time of the drill | {:.1} s |", self.wall_seconds);
        if !self.notes.is_empty() {
            s.push_str("\n## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s.push_str("\nTimes are modeled seconds since the failure began (the emulator's clock).\n");
        s
    }

    pub fn svg(&self) -> String {
        let (left, width, row, top) = (190.0, 620.0, 26.0, 40.0);
        let end = self.spans.iter().map(|s| s.end).fold(1.0_f64, f64::max);
        let scale = width / end;
        let height = top + row * self.spans.len() as f64 + 40.0;
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">{}</text>\n",
            escape(&self.title),
            w = left + width + 120.0
        );
        // Axis ticks every 30 modeled seconds.
        let mut t = 0.0;
        while t <= end + 0.01 {
            let x = left + t * scale;
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666\">{t:.0}s</text>",
                height - 30.0,
                height - 14.0
            );
            t += 30.0;
        }
        for (i, sp) in self.spans.iter().enumerate() {
            let y = top + row * i as f64;
            let color = match sp.outcome.as_str() {
                "done" | "succeeded" | "ok" => "#3a7d44",
                "degraded" => "#d98e04",
                "failed" => "#b3261e",
                _ => "#4a6fa5",
            };
            let x = left + sp.start * scale;
            let w = ((sp.end - sp.start) * scale).max(2.0);
            let _ = writeln!(
                s,
                "<text x=\"10\" y=\"{:.1}\">{}</text><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{:.1}s</text>",
                y + 16.0,
                escape(&sp.name),
                y + 4.0,
                row - 8.0,
                escape(&sp.detail),
                x + w + 4.0,
                y + 16.0,
                sp.end - sp.start
            );
        }
        s.push_str("</svg>\n");
        s
    }

    /// Writes `<dir>/<stem>.md` and `<dir>/<stem>.svg`; returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> std::io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let svg = dir.join(format!("{stem}.svg"));
        let md = dir.join(format!("{stem}.md"));
        std::fs::write(&svg, self.svg())?;
        std::fs::write(&md, self.markdown(&format!("{stem}.svg")))?;
        Ok((md, svg))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
