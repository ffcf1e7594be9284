//! The figures the papers report about themselves (`baselines/reported.json`, embedded in the
//! binary so that every report has them): HETAL's times and hardware, BlindTuner's speedup
//! claims, Glyph's claims. Each carries its source and the label `reported`; the report shows
//! them apart from anything measured or projected here.

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The embedded file.
pub const REPORTED_JSON: &str = include_str!("../../baselines/reported.json");

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
pub struct Reported {
    /// `reported`.
    pub label: String,
    pub about: String,
    pub figures: Vec<ReportedFigure>,
}

/// One figure of one paper: a value, a range (`min` and/or `max`) or a statement in words.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportedFigure {
    pub system: String,
    pub quantity: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub unit: String,
    /// A figure in words, where there is no number.
    #[serde(default)]
    pub text: Option<String>,
    /// What a speedup or a reduction is measured against.
    #[serde(default)]
    pub over: Option<String>,
    #[serde(default)]
    pub data_set: Option<String>,
    #[serde(default)]
    pub hardware: Option<String>,
    /// `false` where the figure could not be checked against the paper's full text.
    pub verified: bool,
    #[serde(default)]
    pub note: String,
    /// `reported`.
    pub label: String,
    pub source: Source,
}

/// Where a figure comes from.
#[derive(Debug, Clone, Deserialize)]
pub struct Source {
    pub paper: String,
    pub venue: String,
    #[serde(default)]
    pub arxiv: Option<String>,
}

impl Source {
    /// The paper, its venue and its arXiv id where known, in one line.
    pub fn describe(&self) -> String {
        match &self.arxiv {
            Some(id) => format!("{}, {}, arXiv {id}", self.paper, self.venue),
            None => format!("{}, {}", self.paper, self.venue),
        }
    }
}

impl ReportedFigure {
    /// The figure in words: `1.5 x`, `4.29 to 15.72 s`, `at most 0.5 %`, or its text.
    pub fn figure(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        match (self.value, self.min, self.max, &self.text) {
            (Some(v), _, _, _) => format!("{v}{unit}"),
            (None, Some(lo), Some(hi), _) => format!("{lo} to {hi}{unit}"),
            (None, None, Some(hi), _) => format!("at most {hi}{unit}"),
            (None, Some(lo), None, _) => format!("at least {lo}{unit}"),
            (None, None, None, Some(text)) => text.clone(),
            (None, None, None, None) => "—".into(),
        }
    }

    /// Whether this is a speedup claim (a factor over another system).
    pub fn is_speedup(&self) -> bool {
        self.unit == "x" && self.over.is_some()
    }
}

/// Parses and checks `text`: every figure labelled `reported`, with a number or words.
pub fn parse(text: &str) -> Result<Reported> {
    let reported: Reported = serde_json::from_str(text).context("the reported figures are not valid")?;
    if reported.label != "reported" {
        bail!("the reported figures are labelled `{}`, not `reported`", reported.label);
    }
    for f in &reported.figures {
        if f.label != "reported" {
            bail!("{} {}: labelled `{}`, not `reported`", f.system, f.quantity, f.label);
        }
        if f.value.is_none() && f.min.is_none() && f.max.is_none() && f.text.is_none() {
            bail!("{} {}: no value, range or text", f.system, f.quantity);
        }
    }
    Ok(reported)
}

/// The embedded figures.
pub fn embedded() -> Result<Reported> {
    parse(REPORTED_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded file parses, every figure is labelled and sourced, and the figures the
    /// reference notes give are there as they give them.
    #[test]
    fn embedded_figures_are_labelled_and_sourced() {
        let r = embedded().unwrap();
        assert!(
            r.figures
                .iter()
                .all(|f| f.label == "reported" && !f.source.venue.is_empty())
        );
        let find = |system: &str, quantity: &str| {
            r.figures
                .iter()
                .find(|f| f.system == system && f.quantity == quantity)
                .unwrap_or_else(|| panic!("{system} {quantity}"))
        };
        assert_eq!(find("HETAL", "time per training iteration").figure(), "4.29 to 15.72 s");
        assert_eq!(find("HETAL", "total training time").figure(), "567 to 3442 s");
        let speedups: Vec<_> = r.figures.iter().filter(|f| f.is_speedup()).collect();
        let over = |o: &str| speedups.iter().find(|f| f.over.as_deref() == Some(o)).unwrap();
        assert_eq!((over("HETAL").value, over("HETAL").verified), (Some(1.5), false));
        assert_eq!((over("Glyph").value, over("Glyph").verified), (Some(600.0), false));
        assert_eq!(
            over("Glyph").source.describe(),
            format!(
                "{}, PPAI workshop at AAAI 2024, arXiv 2402.09059",
                over("Glyph").source.paper
            )
        );
    }

    #[test]
    fn unlabelled_or_empty_figures_are_refused() {
        let figure = |label: &str, value: &str| {
            format!(
                r#"{{"label": "reported", "about": "", "figures": [{{"system": "S", "quantity": "q", {value} "verified": true, "label": "{label}", "source": {{"paper": "P", "venue": "V"}}}}]}}"#
            )
        };
        assert!(parse(&figure("reported", r#""value": 1,"#)).is_ok());
        let e = parse(&figure("measured", r#""value": 1,"#)).unwrap_err().to_string();
        assert!(e.contains("not `reported`"), "{e}");
        let e = parse(&figure("reported", "")).unwrap_err().to_string();
        assert!(e.contains("no value"), "{e}");
    }
}
