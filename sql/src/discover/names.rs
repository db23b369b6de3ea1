//! Column names, as KDA's schema discovery gave them (DG sch-dis.md, "Column Naming During Schema Discovery").
//!
//! A source name is kept unless it is a reserved word (in any case), holds characters other than letters, digits
//! and `_`, starts with a digit, or is longer than 100 characters. Then it becomes `COL_` and what is left of it:
//! `USER` → `COL_USER`, `USER@DOMAIN` → `COL_USERDOMAIN`, `timestamp` → `COL_timestamp`; and `COL_<n>`, `n` the
//! column's 0-based position, when nothing is left (`@@` → `COL_0`, the reference's example).
//!
//! Choices the reference leaves open: letters and digits are ASCII ones (the name is typed into SQL); a renamed name
//! is cut to 100 characters in all; two columns that would share a name (`a.id` and `b.id`) are told apart by their
//! parents' names (`id`, then `b_id`), then by a number (`id_2`). The reserved words are KDA's list (SQLREF
//! sql-reference-reserved-words-keywords), with the few words sluice's parser also reserves (`ASC`, `DESC`,
//! `LIMIT`, `WINDOWED`).

use std::collections::HashSet;

/// The longest name kept as it is.
const MAX_KEPT: usize = 100;

/// KDA's reserved words, upper case.
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "ABS", "ALL", "ALLOCATE", "ALLOW", "ALTER", "ANALYZE", "AND", "ANY", "APPROXIMATE_ARRIVAL_TIME", "ARE", "ARRAY",
    "AS", "ASC", "ASENSITIVE", "ASYMMETRIC", "AT", "ATOMIC", "AUTHORIZATION", "AVG",
    "BEGIN", "BETWEEN", "BIGINT", "BINARY", "BIT", "BLOB", "BOOLEAN", "BOTH", "BY",
    "CALL", "CALLED", "CARDINALITY", "CASCADED", "CASE", "CAST", "CEIL", "CEILING", "CHAR", "CHARACTER",
    "CHARACTER_LENGTH", "CHAR_LENGTH", "CHECK", "CHECKPOINT", "CLOB", "CLOSE", "CLUSTERED", "COALESCE", "COLLATE",
    "COLLECT", "COLUMN", "COMMIT", "CONDITION", "CONNECT", "CONSTRAINT", "CONVERT", "CORR", "CORRESPONDING", "COUNT",
    "COVAR_POP", "COVAR_SAMP", "CREATE", "CROSS", "CUBE", "CUME_DIST", "CURRENT", "CURRENT_CATALOG", "CURRENT_DATE",
    "CURRENT_DEFAULT_TRANSFORM_GROUP", "CURRENT_PATH", "CURRENT_ROLE", "CURRENT_SCHEMA", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "CURRENT_TRANSFORM_GROUP_FOR_TYPE", "CURRENT_USER", "CURSOR", "CYCLE",
    "DATE", "DAY", "DEALLOCATE", "DEC", "DECIMAL", "DECLARE", "DEFAULT", "DELETE", "DENSE_RANK", "DEREF", "DESC",
    "DESCRIBE", "DETERMINISTIC", "DISALLOW", "DISCONNECT", "DISTINCT", "DOUBLE", "DROP", "DYNAMIC",
    "EACH", "ELEMENT", "ELSE", "END", "END-EXEC", "ESCAPE", "EVERY", "EXCEPT", "EXEC", "EXECUTE", "EXISTS", "EXP",
    "EXPLAIN", "EXP_AVG", "EXTERNAL", "EXTRACT",
    "FALSE", "FETCH", "FILTER", "FIRST_VALUE", "FLOAT", "FLOOR", "FOR", "FOREIGN", "FREE", "FROM", "FULL", "FUNCTION",
    "FUSION",
    "GET", "GLOBAL", "GRANT", "GROUP", "GROUPING",
    "HAVING", "HOLD", "HOUR",
    "IDENTITY", "IN", "INDICATOR", "INNER", "INOUT", "INSENSITIVE", "INSERT", "INT", "INTEGER", "INTERSECT",
    "INTERSECTION", "INTERVAL", "INTO", "IS",
    "JOIN",
    "LANGUAGE", "LARGE", "LAST_VALUE", "LATERAL", "LEADING", "LEFT", "LIKE", "LIMIT", "LN", "LOCAL", "LOCALTIME",
    "LOCALTIMESTAMP", "LOWER",
    "MATCH", "MAX", "MEMBER", "MERGE", "METHOD", "MIN", "MINUTE", "MOD", "MODIFIES", "MODULE", "MONTH", "MULTISET",
    "NATIONAL", "NATURAL", "NCHAR", "NCLOB", "NEW", "NO", "NONE", "NORMALIZE", "NOT", "NULL", "NULLIF", "NUMERIC",
    "OCTET_LENGTH", "OF", "OLD", "ON", "ONLY", "OPEN", "OR", "ORDER", "OUT", "OUTER", "OVER", "OVERLAPS", "OVERLAY",
    "PARAMETER", "PARTITION", "PERCENTILE_CONT", "PERCENTILE_DISC", "PERCENT_RANK", "POSITION", "POWER", "PRECISION",
    "PREPARE", "PRIMARY", "PROCEDURE",
    "RANGE", "RANK", "READS", "REAL", "RECURSIVE", "REF", "REFERENCES", "REFERENCING", "REGR_AVGX", "REGR_AVGY",
    "REGR_COUNT", "REGR_INTERCEPT", "REGR_R2", "REGR_SLOPE", "REGR_SXX", "REGR_SXY", "REGR_SYY", "RELEASE", "RESULT",
    "RETURN", "RETURNS", "REVOKE", "RIGHT", "ROLLBACK", "ROLLUP", "ROW", "ROWS", "ROWTIME", "ROW_NUMBER",
    "SAVEPOINT", "SCOPE", "SCROLL", "SEARCH", "SECOND", "SELECT", "SENSITIVE", "SESSION_USER", "SET", "SIMILAR",
    "SMALLINT", "SOME", "SPECIFIC", "SPECIFICTYPE", "SQL", "SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "SQRT", "START",
    "STATIC", "STDDEV_POP", "STDDEV_SAMP", "STREAM", "SUBMULTISET", "SUBSTRING", "SUM", "SYMMETRIC", "SYSTEM",
    "SYSTEM_USER",
    "TABLE", "TABLESAMPLE", "THEN", "TIME", "TIMESTAMP", "TIMEZONE_HOUR", "TIMEZONE_MINUTE", "TINYINT", "TO",
    "TRAILING", "TRANSLATE", "TRANSLATION", "TREAT", "TRIGGER", "TRIM", "TRUE",
    "UESCAPE", "UNION", "UNIQUE", "UNKNOWN", "UNNEST", "UPDATE", "UPPER", "USER", "USING",
    "VALUE", "VALUES", "VARBINARY", "VARCHAR", "VARYING", "VAR_POP", "VAR_SAMP",
    "WHEN", "WHENEVER", "WHERE", "WIDTH_BUCKET", "WINDOW", "WINDOWED", "WITH", "WITHIN", "WITHOUT",
    "YEAR",
];

/// Whether `word` is a reserved word, in any case.
pub(crate) fn is_reserved(word: &str) -> bool {
    RESERVED.iter().any(|reserved| reserved.eq_ignore_ascii_case(word))
}

/// The name discovery gives a source name (a JSON key, a CSV header) for the column at `position`.
pub(crate) fn column_name(source: &str, position: usize) -> String {
    let kept: String = source.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if kept.is_empty() {
        return format!("COL_{position}");
    }
    let renamed = kept.len() != source.len()
        || is_reserved(&kept)
        || kept.starts_with(|c: char| c.is_ascii_digit())
        || kept.len() > MAX_KEPT;
    if !renamed {
        return kept;
    }
    // ASCII only, so byte offsets are character offsets.
    format!("COL_{}", &kept[..kept.len().min(MAX_KEPT - "COL_".len())])
}

/// Hands out distinct column names.
#[derive(Debug, Default)]
pub(crate) struct Namer {
    taken: HashSet<String>,
}

impl Namer {
    /// A name no other column has, for the column at `position` read from `keys` (outermost first): the last
    /// key's name, else the last keys joined by `_` (`b_id`), else the last key's name numbered (`id_2`).
    pub(crate) fn name(&mut self, keys: &[&str], position: usize) -> String {
        for n in 1..=keys.len().max(1) {
            let joined = keys.get(keys.len().saturating_sub(n)..).map(|k| k.join("_")).unwrap_or_default();
            let candidate = column_name(&joined, position);
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
        }
        let base = column_name(keys.last().copied().unwrap_or_default(), position);
        let mut n = 2;
        loop {
            let candidate = format!("{base}_{n}");
            if self.taken.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_examples_are_named_as_kda_named_them() {
        let cases = [
            ("USER", "COL_USER"),
            ("USER@DOMAIN", "COL_USERDOMAIN"),
            ("@@", "COL_0"),
            ("timestamp", "COL_timestamp"),
            ("Year", "COL_Year"),
            ("values", "COL_values"),
            ("requests_newUsers_newOrders_churnUsers", "requests_newUsers_newOrders_churnUsers"),
            ("state", "state"),
            ("producer_type", "producer_type"),
            ("1st", "COL_1st"),
            ("a b", "COL_ab"),
            ("café", "COL_caf"),
            ("end-exec", "COL_endexec"),
        ];
        for (source, expected) in cases {
            assert_eq!(column_name(source, 0), expected, "{source}");
        }
        assert_eq!(column_name("", 3), "COL_3");
        assert_eq!(column_name("!!", 7), "COL_7");
    }

    #[test]
    fn long_names_are_cut_to_100_characters() {
        let hundred = "a".repeat(100);
        assert_eq!(column_name(&hundred, 0), hundred, "100 characters are kept");
        let long = column_name(&"b".repeat(150), 0);
        assert_eq!(long.len(), 100);
        assert!(long.starts_with("COL_b"));
        assert_eq!(column_name(&format!("{}@", "c".repeat(99)), 0).len(), 100);
    }

    #[test]
    fn the_reserved_words_are_upper_case_and_listed_once() {
        let mut seen = HashSet::new();
        for word in RESERVED {
            assert_eq!(*word, word.to_ascii_uppercase());
            assert!(seen.insert(*word), "{word} twice");
        }
        assert!(is_reserved("timestamp") && is_reserved("Rowtime") && !is_reserved("state") && !is_reserved("id"));
    }

    #[test]
    fn clashing_names_are_qualified_then_numbered() {
        let mut namer = Namer::default();
        assert_eq!(namer.name(&["a", "id"], 0), "id");
        assert_eq!(namer.name(&["b", "id"], 1), "b_id");
        assert_eq!(namer.name(&["id"], 2), "id_2");
        assert_eq!(namer.name(&["b", "id"], 3), "id_3");
        assert_eq!(namer.name(&["user"], 4), "COL_user");
        assert_eq!(namer.name(&["@"], 5), "COL_5");
        assert_eq!(namer.name(&[], 6), "COL_6");
    }
}
