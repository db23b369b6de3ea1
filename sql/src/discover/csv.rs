//! CSV records: columns in field order, typed by their text (see `kinds`), split exactly as the mapping splits them.
//!
//! The first row is a header when every field of it is non-empty text and at least one column below it holds
//! numbers, booleans or datetimes (KDA did this: the reference's static-data example names its columns `COL_year`,
//! `COL_month`, `state`... from a header row). Its fields name the columns (by the naming rules) and it takes no
//! part in the types or sizes. Without a header the columns are `COL_0`, `COL_1`..., KDA's `COL_<position>`. Rows
//! may differ in length: there are as many columns as the longest row has fields.

use std::borrow::Cow;

use super::kinds::{Kind, Stats, text_kind};
use super::names::Namer;
use crate::types::SqlType;

/// The columns discovered in some rows, and whether the first row was taken as the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvColumns {
    pub columns: Vec<(String, SqlType)>,
    pub header: bool,
}

/// The columns of `rows` (each a row's fields).
pub(crate) fn columns(rows: &[Vec<Cow<'_, str>>]) -> CsvColumns {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let header = match rows {
        [first, rest @ ..] if is_header(first, &stats(rest, width)) => Some(first),
        _ => None,
    };
    let data = if header.is_some() { rows.get(1..).unwrap_or_default() } else { rows };
    let mut namer = Namer::default();
    let columns = stats(data, width)
        .iter()
        .enumerate()
        .map(|(i, stats)| {
            let source = header.and_then(|h| h.get(i)).map(|name| name.trim());
            (namer.name(source.as_slice(), i), stats.sql_type())
        })
        .collect();
    CsvColumns { columns, header: header.is_some() }
}

fn stats(rows: &[Vec<Cow<'_, str>>], width: usize) -> Vec<Stats> {
    let mut stats = vec![Stats::default(); width];
    for row in rows {
        for (field, stats) in row.iter().zip(&mut stats) {
            if field.is_empty() {
                stats.add_empty(0);
            } else {
                stats.add(text_kind(field), field.chars().count());
            }
        }
    }
    stats
}

fn is_header(first: &[Cow<'_, str>], below: &[Stats]) -> bool {
    let names = first.iter().all(|field| !field.trim().is_empty() && text_kind(field) == Kind::Text);
    names && below.iter().take(first.len()).any(|s| s.kind().is_some_and(|kind| kind != Kind::Text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<Cow<'_, str>>> {
        text.lines().map(|line| line.split(',').map(Cow::Borrowed).collect()).collect()
    }

    fn shown(found: &CsvColumns) -> Vec<String> {
        found.columns.iter().map(|(name, ty)| format!("{name} {ty}")).collect()
    }

    #[test]
    fn the_reference_static_data_example_is_discovered_as_kda_did() {
        let data = "year,month,state,producer_type,energy_source,units,consumption\n\
            2001,1,AK,TotalElectricPowerIndustry,Coal,ShortTons,47615\n\
            2001,1,AK,ElectricGeneratorsElectricUtilities,Coal,ShortTons,16535\n\
            2001,1,AK,CombinedHeatandPowerElectricPower,Coal,ShortTons,22890\n\
            2001,1,AL,TotalElectricPowerIndustry,Coal,ShortTons,3020601\n\
            2001,1,AL,ElectricGeneratorsElectricUtilities,Coal,ShortTons,2987681";
        let found = columns(&rows(data));
        assert!(found.header);
        assert_eq!(
            shown(&found),
            [
                "COL_year INTEGER",
                "COL_month INTEGER",
                "state VARCHAR(4)",
                "producer_type VARCHAR(64)",
                "energy_source VARCHAR(4)",
                "units VARCHAR(16)",
                "consumption INTEGER",
            ]
        );
    }

    #[test]
    fn without_a_header_columns_are_numbered_from_zero() {
        let found = columns(&rows("1,x,true,2020-07-01 10:00:00\n2.5,yy,FALSE,\n3,,false,2020-07-02 11:00:00,extra"));
        assert!(!found.header);
        assert_eq!(
            shown(&found),
            ["COL_0 DOUBLE", "COL_1 VARCHAR(4)", "COL_2 BOOLEAN", "COL_3 TIMESTAMP", "COL_4 VARCHAR(8)"]
        );
        let text_only = columns(&rows("name,city\nann,paris"));
        assert!(!text_only.header, "nothing tells a header from data");
        assert_eq!(shown(&text_only), ["COL_0 VARCHAR(4)", "COL_1 VARCHAR(8)"]);
    }

    #[test]
    fn header_names_follow_the_naming_rules() {
        let found = columns(&rows("user,user,@@,1st\n1,2,3,4"));
        assert!(found.header);
        assert_eq!(shown(&found), ["COL_user INTEGER", "COL_user_2 INTEGER", "COL_2 INTEGER", "COL_1st INTEGER"]);
    }
}
