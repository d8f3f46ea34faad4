//! Statistics tables as downloads: CSV (UTF-8 with a byte-order mark, so
//! spreadsheet programs read the Chinese) and Excel workbooks
//! (rust_xlsxwriter, numbers stored as numbers).

use super::period::View;
use super::queries::{COLUMNS, Health, ReviewerLoad, Row};
use crate::error::AppError;

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number shown with one decimal.
    Decimal(f64),
    Empty,
}

impl From<i64> for Cell {
    fn from(value: i64) -> Self {
        Cell::Int(value)
    }
}

impl From<&str> for Cell {
    fn from(value: &str) -> Self {
        Cell::Text(value.to_owned())
    }
}

impl From<String> for Cell {
    fn from(value: String) -> Self {
        Cell::Text(value)
    }
}

/// A table as downloaded: its name (the worksheet's), headings and rows.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub name: String,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A text cell as a spreadsheet program should read it: one that starts
/// like a formula (`=`, `+`, `-`, `@`, a tab or a carriage return: a unit
/// or author name chosen by anyone with a form) gets a leading `'`, so it
/// is shown as text and never evaluated (OWASP's CSV injection advice).
pub fn defused(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// The sheet as CSV: a byte-order mark, the headings, one row per line,
/// lines ended by CRLF.
pub fn csv(sheet: &Sheet) -> String {
    let quote = |text: &str| format!("\"{}\"", defused(text).replace('"', "\"\""));
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.join(",") + "\r\n";
    out.push_str(&line(sheet.headings.iter().map(|h| quote(h)).collect()));
    for row in &sheet.rows {
        out.push_str(&line(
            row.iter()
                .map(|cell| match cell {
                    Cell::Text(text) => quote(text),
                    Cell::Int(value) => value.to_string(),
                    Cell::Decimal(value) => format!("{value:.1}"),
                    Cell::Empty => String::new(),
                })
                .collect(),
        ));
    }
    out
}

/// The sheet as an Excel workbook: one worksheet, a bold header row.
pub fn xlsx(sheet: &Sheet) -> Result<Vec<u8>, AppError> {
    let fail = |error: rust_xlsxwriter::XlsxError| AppError::Internal(error.into());
    let mut book = rust_xlsxwriter::Workbook::new();
    let worksheet = book.add_worksheet();
    worksheet.set_name(&sheet.name).map_err(fail)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let decimal = rust_xlsxwriter::Format::new().set_num_format("0.0");
    for (column, heading) in sheet.headings.iter().enumerate() {
        worksheet
            .write_string_with_format(0, column as u16, heading, &bold)
            .map_err(fail)?;
    }
    for (line, row) in sheet.rows.iter().enumerate() {
        let line = line as u32 + 1;
        for (column, cell) in row.iter().enumerate() {
            let column = column as u16;
            match cell {
                Cell::Text(text) => worksheet.write_string(line, column, text),
                Cell::Int(value) => worksheet.write_number(line, column, *value as f64),
                Cell::Decimal(value) => {
                    worksheet.write_number_with_format(line, column, *value, &decimal)
                }
                Cell::Empty => continue,
            }
            .map_err(fail)?;
        }
    }
    worksheet.set_column_width(0, 28).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

/// The main table as a sheet: the figures, then (units and
/// correspondents) the year's target, what is done and the percentage.
pub fn main_sheet(view: View, rows: &[Row], total: &Row) -> Sheet {
    let first = match view {
        View::Units => "单位",
        View::Writers => "通讯员",
        View::Authors => "作者",
    };
    let mut headings: Vec<String> = std::iter::once(first)
        .chain(COLUMNS.iter().map(|(_, heading)| *heading))
        .map(str::to_owned)
        .collect();
    let quotas = view != View::Authors;
    if quotas {
        headings.extend(["年度任务", "本年已采用", "完成率（%）", "进度"].map(str::to_owned));
    }
    let line = |name: &str, row: &Row| {
        let mut cells: Vec<Cell> = std::iter::once(name.into())
            .chain(row.values().into_iter().map(Cell::from))
            .collect();
        if let Some(progress) = row.progress.as_ref().filter(|_| quotas) {
            cells.push(progress.target.map_or(Cell::Empty, Cell::Int));
            cells.push(progress.done.into());
            cells.push(progress.percent().map_or(Cell::Empty, Cell::Decimal));
            cells.push(match (progress.target, progress.behind()) {
                (None, _) => Cell::Empty,
                (Some(_), true) => "落后".into(),
                (Some(_), false) => "正常".into(),
            });
        }
        cells.resize(headings.len(), Cell::Empty);
        cells
    };
    let lines: Vec<Vec<Cell>> = rows
        .iter()
        .map(|row| line(&row.name, row))
        .chain([line("合计", total)])
        .collect();
    Sheet {
        name: "稿件统计".into(),
        headings,
        rows: lines,
    }
}

pub fn health_sheet(health: &Health, reviewers: &[ReviewerLoad]) -> Sheet {
    let mut rows = vec![vec![
        "从投稿到发布".into(),
        health.to_publication.0.into(),
        Cell::Decimal(health.to_publication.1),
        Cell::Decimal(health.to_publication.2),
    ]];
    for (stage, count, median, p90) in &health.stages {
        rows.push(vec![
            format!("第 {stage} 审等待").into(),
            (*count).into(),
            Cell::Decimal(*median),
            Cell::Decimal(*p90),
        ]);
    }
    for (stage, count) in &health.backlog {
        rows.push(vec![
            format!("当前积压：第 {stage} 审").into(),
            (*count).into(),
            Cell::Empty,
            Cell::Empty,
        ]);
    }
    for reviewer in reviewers {
        rows.push(vec![
            format!("待审：{}（{}）", reviewer.name, reviewer.unit_name).into(),
            reviewer.waiting.into(),
            Cell::Empty,
            Cell::Decimal(reviewer.oldest_hours),
        ]);
    }
    Sheet {
        name: "审核效率".into(),
        headings: [
            "环节",
            "篇次",
            "中位数（小时）",
            "90% 在（小时）以内；待审为最久等待（小时）",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_quoted_text_and_plain_numbers() {
        let sheet = Sheet {
            name: "稿件统计".into(),
            headings: vec!["单位".into(), "采用".into(), "完成率（%）".into()],
            rows: vec![
                vec![
                    "国网\"济南\"供电公司".into(),
                    Cell::Int(2),
                    Cell::Decimal(66.66),
                ],
                vec!["合计".into(), Cell::Int(2), Cell::Empty],
            ],
        };
        let text = csv(&sheet);
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], "\"单位\",\"采用\",\"完成率（%）\"");
        assert_eq!(lines[1], "\"国网\"\"济南\"\"供电公司\",2,66.7");
        assert_eq!(lines[2], "\"合计\",2,");
        let book = xlsx(&sheet).unwrap();
        assert!(book.starts_with(b"PK"));
    }

    #[test]
    fn cells_that_start_like_formulas_are_defused() {
        for formula in ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defused(formula), format!("'{formula}"));
        }
        assert_eq!(defused("国网-济南"), "国网-济南");
        assert_eq!(defused(""), "");
    }
}
