//! SQL types of Kinesis Data Analytics ([SQLREF] sql-reference-data-types).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A column or expression type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// BOOLEAN.
    Boolean,
    /// TINYINT (8-bit).
    TinyInt,
    /// SMALLINT (16-bit).
    SmallInt,
    /// INTEGER (32-bit).
    Integer,
    /// BIGINT (64-bit).
    BigInt,
    /// REAL (32-bit float, computed as f64).
    Real,
    /// DOUBLE.
    Double,
    /// DECIMAL(p, s) / NUMERIC: up to 19 digits in KDA.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// CHAR(n): blank-padded to n.
    Char(u32),
    /// VARCHAR(n): longer values are truncated to n characters.
    Varchar(u32),
    /// DATE.
    Date,
    /// TIME (milliseconds).
    Time,
    /// TIMESTAMP (milliseconds, UTC, no zone).
    Timestamp,
    /// BINARY(n).
    Binary(u32),
    /// VARBINARY(n).
    Varbinary(u32),
    /// A day-time INTERVAL (expressions only).
    IntervalDayTime,
    /// A year-month INTERVAL (expressions only).
    IntervalYearMonth,
    /// A row value (what the log parsers return): named, typed fields read as `t.r."COL_1"`.
    Row(Arc<[(String, SqlType)]>),
    /// The type of a bare NULL: fits anything.
    Null,
}

impl SqlType {
    /// Whether values of this type are numbers.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::TinyInt
                | SqlType::SmallInt
                | SqlType::Integer
                | SqlType::BigInt
                | SqlType::Real
                | SqlType::Double
                | SqlType::Decimal { .. }
        )
    }

    /// Whether values of this type are integers.
    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::TinyInt | SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
    }

    /// Whether values of this type are character strings.
    pub fn is_string(&self) -> bool {
        matches!(self, SqlType::Char(_) | SqlType::Varchar(_))
    }

    /// Whether values of this type are dates, times or timestamps.
    pub fn is_datetime(&self) -> bool {
        matches!(self, SqlType::Date | SqlType::Time | SqlType::Timestamp)
    }
}

/// A type name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SQL type `{0}`")]
pub struct TypeError(pub String);

impl FromStr for SqlType {
    type Err = TypeError;

    /// Parses a type as written in a column list or an input mapping: `VARCHAR(16)`, `DECIMAL(10, 2)`,
    /// `DOUBLE PRECISION`, `CHARACTER VARYING(8)`, case-insensitive.
    fn from_str(text: &str) -> Result<Self, TypeError> {
        let fail = || TypeError(text.trim().to_owned());
        let normalized = text.trim().to_ascii_uppercase();
        let (name, args) = match normalized.find('(') {
            Some(open) => {
                let close = normalized.rfind(')').filter(|c| *c > open && normalized[c + 1..].trim().is_empty());
                let close = close.ok_or_else(fail)?;
                (normalized[..open].trim(), Some(&normalized[open + 1..close]))
            }
            None => (normalized.as_str(), None),
        };
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let numbers: Vec<u32> = match args {
            Some(args) => {
                args.split(',').map(|a| a.trim().parse::<u32>().map_err(|_| fail())).collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
        let one = |default: u32| match numbers.as_slice() {
            [] => Ok(default),
            [n] if *n > 0 => Ok(*n),
            _ => Err(fail()),
        };
        let none = |t: SqlType| if numbers.is_empty() { Ok(t) } else { Err(fail()) };
        match name.as_str() {
            "BOOLEAN" => none(SqlType::Boolean),
            "TINYINT" => none(SqlType::TinyInt),
            "SMALLINT" => none(SqlType::SmallInt),
            "INTEGER" | "INT" => none(SqlType::Integer),
            "BIGINT" => none(SqlType::BigInt),
            "REAL" | "FLOAT" => none(SqlType::Real),
            "DOUBLE" | "DOUBLE PRECISION" => none(SqlType::Double),
            "DECIMAL" | "NUMERIC" | "DEC" => {
                let (precision, scale) = match numbers.as_slice() {
                    [] => (19, 0),
                    [p] => (*p, 0),
                    [p, s] => (*p, *s),
                    _ => return Err(fail()),
                };
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(fail());
                }
                Ok(SqlType::Decimal { precision: precision as u8, scale: scale as u8 })
            }
            "CHAR" | "CHARACTER" => Ok(SqlType::Char(one(1)?)),
            "VARCHAR" | "CHARACTER VARYING" | "CHAR VARYING" => match numbers.as_slice() {
                [n] if *n > 0 => Ok(SqlType::Varchar(*n)),
                _ => Err(fail()),
            },
            "DATE" => none(SqlType::Date),
            "TIME" => none(SqlType::Time),
            "TIMESTAMP" => none(SqlType::Timestamp),
            "BINARY" => Ok(SqlType::Binary(one(1)?)),
            "VARBINARY" => match numbers.as_slice() {
                [n] if *n > 0 => Ok(SqlType::Varbinary(*n)),
                _ => Err(fail()),
            },
            _ => Err(fail()),
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::TinyInt => f.write_str("TINYINT"),
            SqlType::SmallInt => f.write_str("SMALLINT"),
            SqlType::Integer => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Real => f.write_str("REAL"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::Char(n) => write!(f, "CHAR({n})"),
            SqlType::Varchar(n) => write!(f, "VARCHAR({n})"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Binary(n) => write!(f, "BINARY({n})"),
            SqlType::Varbinary(n) => write!(f, "VARBINARY({n})"),
            SqlType::IntervalDayTime => f.write_str("INTERVAL DAY TO SECOND"),
            SqlType::IntervalYearMonth => f.write_str("INTERVAL YEAR TO MONTH"),
            SqlType::Row(fields) => {
                f.write_str("ROW(")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "\"{name}\" {ty}")?;
                }
                f.write_str(")")
            }
            SqlType::Null => f.write_str("NULL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_parse_as_written_in_mappings_and_ddl() {
        let cases = [
            ("VARCHAR(32)", SqlType::Varchar(32)),
            ("varchar ( 16 )", SqlType::Varchar(16)),
            ("INT", SqlType::Integer),
            ("DOUBLE PRECISION", SqlType::Double),
            ("DECIMAL(10,2)", SqlType::Decimal { precision: 10, scale: 2 }),
            ("CHAR", SqlType::Char(1)),
            ("TIMESTAMP", SqlType::Timestamp),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<SqlType>(), Ok(expected), "{text}");
        }
        for bad in ["VARCHAR", "VARCHAR(0)", "TEXT", "INT(3)", "DECIMAL(3,4)", "VARCHAR(3"] {
            assert!(bad.parse::<SqlType>().is_err(), "{bad}");
        }
    }
}
