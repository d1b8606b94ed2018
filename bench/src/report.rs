//! The report: rows with their targets, diagnostics, the markdown table and the JSON file.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

/// Which way is better for a row's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Times and sizes: ratio = ours / raw.
    Lower,
    /// Rates: ratio = raw / ours.
    Higher,
}

/// What a row must meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The ratio at most this.
    Ratio(f64),
    /// Ours at most this, in the row's unit, whatever the ratio.
    AtMost(f64),
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: &'static str,
    pub unit: &'static str,
    pub ours: f64,
    pub raw: f64,
    pub better: Better,
    pub target: Target,
}

impl Row {
    /// Lower is always better: ours/raw for times and sizes, raw/ours for rates.
    pub fn ratio(&self) -> f64 {
        match self.better {
            Better::Lower => self.ours / self.raw,
            Better::Higher => self.raw / self.ours,
        }
    }

    pub fn holds(&self) -> bool {
        match self.target {
            Target::Ratio(max) => self.ratio() <= max,
            Target::AtMost(max) => self.ours <= max,
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            Target::Ratio(max) => format!("≤ {max}"),
            Target::AtMost(max) => format!("≤ {} {} absolute", fmt(max), self.unit),
        }
    }
}

/// A figure that explains a row (where its time goes); not a target.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub row: &'static str,
    pub what: String,
    pub value: f64,
    pub unit: &'static str,
}

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub diagnostics: Vec<Diagnostic>,
    pub notes: Vec<String>,
}

impl Report {
    /// Adds a diagnostic.
    pub fn diag(
        &mut self,
        row: &'static str,
        what: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) {
        self.diagnostics.push(Diagnostic {
            row,
            what: what.into(),
            value,
            unit,
        });
    }

    /// Adds the rows, diagnostics and notes of another report.
    pub fn merge(&mut self, other: Report) {
        self.rows.extend(other.rows);
        self.diagnostics.extend(other.diagnostics);
        self.notes.extend(other.notes);
    }

    /// The markdown table, then the diagnostics and notes.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("| name | unit | ours | raw | ratio | target | holds |\n");
        out.push_str("|---|---|---:|---:|---:|---|---|\n");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.2} | {} | {} |",
                row.name,
                row.unit,
                fmt(row.ours),
                fmt(row.raw),
                row.ratio(),
                row.target_text(),
                if row.holds() { "yes" } else { "**no**" }
            );
        }
        if !self.diagnostics.is_empty() {
            out.push_str("\n| diagnostic | what | value | unit |\n|---|---|---:|---|\n");
            for d in &self.diagnostics {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    d.row,
                    d.what,
                    fmt(d.value),
                    d.unit
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "\nNote: {note}");
        }
        out
    }

    /// `{"rows": [{"name", "unit", "ours", "raw", "ratio"}], "diagnostics": [...], "notes": [...]}`.
    pub fn json(&self) -> serde_json::Value {
        let number = |v: f64| if v.is_finite() { json!(v) } else { json!(null) };
        let rows: Vec<_> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "unit": r.unit,
                    "ours": number(r.ours),
                    "raw": number(r.raw),
                    "ratio": number(r.ratio()),
                })
            })
            .collect();
        let diagnostics: Vec<_> = self
            .diagnostics
            .iter()
            .map(
                |d| json!({"row": d.row, "what": d.what, "value": number(d.value), "unit": d.unit}),
            )
            .collect();
        json!({"rows": rows, "diagnostics": diagnostics, "notes": self.notes})
    }

    /// Writes [`Report::json`] to `path`.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.json()).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

/// A figure with sensible precision: 3 significant digits below 1,000, whole numbers above,
/// with thousands separators.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v.abs() >= 1000.0 {
        let whole = format!("{:.0}", v.abs());
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        return if v < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        };
    }
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(better: Better, ours: f64, raw: f64) -> Row {
        Row {
            name: "x",
            unit: "ns",
            ours,
            raw,
            better,
            target: Target::Ratio(2.0),
        }
    }

    #[test]
    fn lower_is_always_better() {
        assert_eq!(row(Better::Lower, 4.0, 2.0).ratio(), 2.0);
        assert_eq!(row(Better::Higher, 2.0, 4.0).ratio(), 2.0);
        assert!(row(Better::Higher, 4.0, 2.0).holds());
    }

    #[test]
    fn figures_are_grouped() {
        assert_eq!(fmt(1234567.8), "1,234,568");
        assert_eq!(fmt(12.345), "12.3");
        assert_eq!(fmt(f64::NAN), "n/a");
    }
}
