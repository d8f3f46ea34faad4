//! The period and table a statistics request asks for, parsed from its
//! query; pure, no database.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize, Clone)]
pub struct StatsQuery {
    /// month, quarter, year or range.
    #[serde(default)]
    pub period: String,
    /// The day the period contains (month, quarter, year), or the first day
    /// of a range.
    #[serde(default)]
    pub from: String,
    /// The last day of a range.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub channel: String,
    /// units, writers or authors.
    #[serde(default)]
    pub view: String,
    #[serde(default)]
    pub sort: String,
    /// "1": only the rows behind their yearly target.
    #[serde(default)]
    pub behind: String,
    /// Downloads: main or health.
    #[serde(default)]
    pub table: String,
    /// Charts: ranking, months or backlog.
    #[serde(default)]
    pub chart: String,
}

/// A period as days [first, last] of the site's calendar; the daily rows
/// are cut in the site's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// The whole of `year`.
    pub fn year(year: i32) -> Option<Period> {
        Some(Period {
            first: NaiveDate::from_ymd_opt(year, 1, 1)?,
            last: NaiveDate::from_ymd_opt(year, 12, 31)?,
        })
    }
}

/// The period a query asks for; None when a date is malformed.
pub fn period(query: &StatsQuery, today: NaiveDate) -> Option<Period> {
    let day = |text: &str| -> Option<NaiveDate> {
        match text.trim() {
            "" => Some(today),
            text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        }
    };
    let anchor = day(&query.from)?;
    let (first, last) = match query.period.as_str() {
        "year" => {
            let year = Period::year(anchor.year())?;
            (year.first, year.last)
        }
        "quarter" => {
            let month = (anchor.month0() / 3) * 3 + 1;
            let first = NaiveDate::from_ymd_opt(anchor.year(), month, 1)?;
            (
                first,
                first
                    .checked_add_months(chrono::Months::new(3))?
                    .pred_opt()?,
            )
        }
        "range" => {
            let last = day(&query.to)?;
            if last < anchor {
                return None;
            }
            (anchor, last)
        }
        _ => {
            let first = NaiveDate::from_ymd_opt(anchor.year(), anchor.month(), 1)?;
            (
                first,
                first
                    .checked_add_months(chrono::Months::new(1))?
                    .pred_opt()?,
            )
        }
    };
    // Newsrooms count from this century; a far-off date is a typing slip,
    // and would have every day since built.
    if first.year() < 2000 || last.year() > 2999 {
        return None;
    }
    Some(Period { first, last })
}

/// Which table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    /// The scope unit's direct sub-units, each with the units below it.
    Units,
    /// Correspondents (the stories' submitters).
    Writers,
    /// Credited authors.
    Authors,
}

impl View {
    pub fn parse(text: &str) -> View {
        match text {
            "writers" => View::Writers,
            "authors" => View::Authors,
            _ => View::Units,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            View::Units => "units",
            View::Writers => "writers",
            View::Authors => "authors",
        }
    }
}

/// A row's progress against its yearly target.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub year: i32,
    pub target: Option<i64>,
    /// Published in the year so far.
    pub done: i64,
    /// What the target asks by now: the target times the share of the year
    /// gone by (all of a past year, none of a future one).
    pub expected: i64,
}

impl Progress {
    pub fn new(year: i32, target: Option<i64>, done: i64, today: NaiveDate) -> Self {
        let expected = target.map_or(0, |target| {
            (target as f64 * elapsed_share(year, today)).floor() as i64
        });
        Progress {
            year,
            target,
            done,
            expected,
        }
    }

    /// Done as a percentage of the target.
    pub fn percent(&self) -> Option<f64> {
        self.target
            .map(|target| self.done as f64 * 100.0 / target as f64)
    }

    /// Behind when a target is set and what is done falls short of what
    /// the year gone by asks.
    pub fn behind(&self) -> bool {
        self.target.is_some() && self.done < self.expected
    }
}

/// The share of `year` gone by at the end of `today`.
pub fn elapsed_share(year: i32, today: NaiveDate) -> f64 {
    match year.cmp(&today.year()) {
        std::cmp::Ordering::Less => 1.0,
        std::cmp::Ordering::Greater => 0.0,
        std::cmp::Ordering::Equal => {
            let days = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
                366.0
            } else {
                365.0
            };
            f64::from(today.ordinal()) / days
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(period: &str, from: &str, to: &str) -> StatsQuery {
        StatsQuery {
            period: period.into(),
            from: from.into(),
            to: to.into(),
            ..StatsQuery::default()
        }
    }

    #[test]
    pub fn periods_are_whole_months_quarters_years_or_ranges() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let month = period(&query("month", "", ""), today).unwrap();
        assert_eq!(month.first.to_string(), "2026-11-01");
        assert_eq!(month.last.to_string(), "2026-11-30");
        let quarter = period(&query("quarter", "2026-05-10", ""), today).unwrap();
        assert_eq!(
            (quarter.first.to_string(), quarter.last.to_string()),
            ("2026-04-01".into(), "2026-06-30".into())
        );
        let year = period(&query("year", "", ""), today).unwrap();
        assert_eq!(year.last.to_string(), "2026-12-31");
        assert!(period(&query("range", "2026-03-02", "2026-03-01"), today).is_none());
        assert!(period(&query("month", "2026-13-01", ""), today).is_none());
        assert!(period(&query("range", "0001-01-01", "2026-01-01"), today).is_none());
    }
}
