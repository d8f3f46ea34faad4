//! Statistics tables as downloads: CSV (UTF-8 with a byte-order mark, so
//! spreadsheet programs read the Chinese) and Excel workbooks
//! (rust_xlsxwriter, numbers stored as numbers).

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
