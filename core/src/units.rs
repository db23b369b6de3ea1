//! Typed durations (`10s`, `24h`) and byte sizes (`1MiB`): parsed once, with a schema pattern for editors.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The schema pattern of a [`Duration`]; validation recognises it to explain the mistake.
pub const DURATION_PATTERN: &str = "^[0-9]+(ms|s|m|h|d)$";
/// The schema pattern of a [`ByteSize`]; validation recognises it to explain the mistake.
pub const BYTE_SIZE_PATTERN: &str = "^[0-9]+(B|KB|MB|GB|KiB|MiB|GiB)$";

/// A span of time written as a whole number and a unit: `500ms`, `10s`, `5m`, `24h`, `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

/// A size written as a whole number and a unit: `100B`, `64KiB`, `1MiB`, `5MB` (decimal and binary units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(u64);

/// Why a duration or size did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(String);

fn split_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number = text[..digits].parse().ok()?;
    Some((number, &text[digits..]))
}

impl Duration {
    /// From whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }

    /// As a standard library duration.
    pub const fn as_std(self) -> std::time::Duration {
        self.0
    }
}

impl FromStr for Duration {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            UnitError(format!(
                "invalid duration `{text}`: expected a whole number and a unit (ms, s, m, h, d), such as `10s` or `24h`"
            ))
        };
        let (n, unit) = split_number(text).ok_or_else(bad)?;
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let millis = n.checked_mul(millis_per_unit).ok_or_else(bad)?;
        Ok(Duration(std::time::Duration::from_millis(millis)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if millis != 0 && millis.is_multiple_of(size) {
                return write!(f, "{}{unit}", millis / size);
            }
        }
        write!(f, "{millis}ms")
    }
}

impl ByteSize {
    /// From a number of bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        ByteSize(bytes)
    }

    /// From a number of mebibytes.
    pub const fn from_mib(mib: u64) -> Self {
        ByteSize(mib * 1024 * 1024)
    }

    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            UnitError(format!(
                "invalid size `{text}`: expected a whole number and a unit (B, KB, MB, GB, KiB, MiB, GiB), such as `1MiB`"
            ))
        };
        let (n, unit) = split_number(text).ok_or_else(bad)?;
        let scale: u64 = match unit {
            "B" => 1,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            _ => return Err(bad()),
        };
        n.checked_mul(scale).map(ByteSize).ok_or_else(bad)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 != 0 && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

macro_rules! string_unit {
    ($ty:ty, $name:literal, $pattern:expr, $description:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Cow::<str>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": $pattern, "description": $description })
            }
        }
    };
}

string_unit!(Duration, "Duration", DURATION_PATTERN, "A whole number and a unit: ms, s, m, h or d (`10s`, `24h`).");
string_unit!(
    ByteSize,
    "ByteSize",
    BYTE_SIZE_PATTERN,
    "A whole number and a unit: B, KB, MB, GB, KiB, MiB or GiB (`1MiB`)."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!("10s".parse::<Duration>().map(Duration::as_std), Ok(std::time::Duration::from_secs(10)));
        assert_eq!("24h".parse::<Duration>().map(|d| d.as_std().as_secs()), Ok(86_400));
        assert_eq!("1500ms".parse::<Duration>().map(|d| d.to_string()), Ok("1500ms".into()));
        assert_eq!(Duration::from_secs(120).to_string(), "2m");
        for bad in ["", "10", "s", "10 s", "1.5s", "-1s", "10sec", "99999999999999999999d"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!("1MiB".parse::<ByteSize>(), Ok(ByteSize::from_mib(1)));
        assert_eq!("5MB".parse::<ByteSize>().map(ByteSize::bytes), Ok(5_000_000));
        assert_eq!(ByteSize::from_bytes(1536).to_string(), "1536B");
        assert_eq!(ByteSize::from_mib(128).to_string(), "128MiB");
        for bad in ["", "1", "MiB", "1mib", "1.5MiB", "1 MiB", "99999999999GiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn patterns_agree_with_parsers() {
        // The schema pattern and the parser must accept the same language; spot-check the units.
        for unit in ["ms", "s", "m", "h", "d"] {
            assert!(DURATION_PATTERN.contains(unit));
            assert!(format!("3{unit}").parse::<Duration>().is_ok());
        }
        for unit in ["B", "KB", "MB", "GB", "KiB", "MiB", "GiB"] {
            assert!(BYTE_SIZE_PATTERN.contains(unit));
            assert!(format!("3{unit}").parse::<ByteSize>().is_ok());
        }
    }
}

/// A regular expression (no anchors) matching exactly the decimal integers in `lo..=hi`, without leading zeros.
fn integer_range_regex(lo: u64, hi: u64) -> String {
    /// Patterns for the numbers between two numerals of the same length.
    fn same_length(lo: &[u8], hi: &[u8]) -> Vec<String> {
        let Some((&l, lo_rest)) = lo.split_first() else { return vec![String::new()] };
        let (&h, hi_rest) = hi.split_first().unwrap_or((&l, &[]));
        let rest = lo_rest.len();
        if l == h {
            return same_length(lo_rest, hi_rest).into_iter().map(|p| format!("{}{p}", l as char)).collect();
        }
        let any = |n: usize| if n == 0 { String::new() } else { format!("[0-9]{{{n}}}") };
        let (mut first, mut last) = (l, h);
        let mut out = Vec::new();
        if lo_rest.iter().any(|d| *d != b'0') {
            let nines = vec![b'9'; rest];
            out.extend(same_length(lo_rest, &nines).into_iter().map(|p| format!("{}{p}", l as char)));
            first += 1;
        }
        let hi_tail = if hi_rest.iter().any(|d| *d != b'9') {
            last -= 1;
            let zeros = vec![b'0'; rest];
            same_length(&zeros, hi_rest).into_iter().map(|p| format!("{}{p}", h as char)).collect()
        } else {
            Vec::new()
        };
        if first <= last {
            let digits = if first == last {
                (first as char).to_string()
            } else {
                format!("[{}-{}]", first as char, last as char)
            };
            out.push(format!("{digits}{}", any(rest)));
        }
        out.extend(hi_tail);
        out
    }
    let mut alternatives = Vec::new();
    let digits = |n: u64| n.to_string().len();
    for length in digits(lo)..=digits(hi) {
        let floor = if length == 1 { 0 } else { 10u64.pow(length as u32 - 1) };
        let ceiling = 10u64.saturating_pow(length as u32).saturating_sub(1);
        let (a, b) = (lo.max(floor), hi.min(ceiling));
        if a <= b {
            alternatives.extend(same_length(a.to_string().as_bytes(), b.to_string().as_bytes()));
        }
    }
    format!("(?:{})", alternatives.join("|"))
}

/// A schema pattern for quantities written as `<integer><unit>` whose value lies in `min..=max`, given each
/// unit's size in the base unit: editors then flag an out-of-range value as they type it.
fn ranged_pattern(min: u64, max: u64, units: &[(&str, u64)]) -> String {
    let alternatives: Vec<String> = units
        .iter()
        .filter_map(|(unit, size)| {
            let lo = min.div_ceil(*size);
            let hi = max / size;
            (lo <= hi).then(|| format!("{}{unit}", integer_range_regex(lo, hi)))
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}

/// The schema of a [`Duration`] limited to `min..=max`, both written as in a pipeline file (`"900s"`).
pub fn duration_range_schema(min: &str, max: &str) -> Schema {
    let millis =
        |text: &str| text.parse::<Duration>().map_or(0, |d| u64::try_from(d.as_std().as_millis()).unwrap_or(u64::MAX));
    let units = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
    let pattern = ranged_pattern(millis(min), millis(max), &units);
    json_schema!({ "type": "string", "pattern": pattern, "x-range": [min, max] })
}

/// The schema of a [`ByteSize`] limited to `min..=max`, both written as in a pipeline file (`"128MiB"`).
pub fn byte_size_range_schema(min: &str, max: &str) -> Schema {
    let bytes = |text: &str| text.parse::<ByteSize>().map_or(0, ByteSize::bytes);
    let units = [
        ("B", 1),
        ("KB", 1_000),
        ("MB", 1_000_000),
        ("GB", 1_000_000_000),
        ("KiB", 1 << 10),
        ("MiB", 1 << 20),
        ("GiB", 1 << 30),
    ];
    let pattern = ranged_pattern(bytes(min), bytes(max), &units);
    json_schema!({ "type": "string", "pattern": pattern, "x-range": [min, max] })
}

#[cfg(test)]
mod range_tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        // The patterns use only alternation, groups, classes and counted classes: test them with jsonschema's
        // own regex engine through a tiny schema.
        let schema = serde_json::json!({ "type": "string", "pattern": pattern });
        jsonschema::is_valid(&schema, &serde_json::json!(text))
    }

    #[test]
    fn integer_ranges_match_exactly_their_members() {
        for (lo, hi) in
            [(0, 0), (0, 15), (1, 128), (7, 93), (24, 8760), (1024, 131_072), (0, 900_000), (1_048_576, 134_217_728)]
        {
            let pattern = format!("^{}$", integer_range_regex(lo, hi));
            let probes =
                [lo.saturating_sub(1), lo, lo + 1, (lo + hi) / 2, hi.saturating_sub(1), hi, hi + 1, hi * 10, 0];
            for n in probes {
                assert_eq!(matches(&pattern, &n.to_string()), (lo..=hi).contains(&n), "{n} in {lo}..={hi}: {pattern}");
            }
            assert!(!matches(&pattern, &format!("0{lo}")), "no leading zeros");
        }
    }

    #[test]
    fn ranged_units_accept_every_spelling_of_an_allowed_value() {
        let size = byte_size_range_schema("1MiB", "128MiB");
        let pattern = size.get("pattern").and_then(|p| p.as_str()).unwrap_or_default().to_owned();
        for ok in ["1MiB", "128MiB", "1024KiB", "2MB", "134217728B", "64MiB"] {
            assert!(matches(&pattern, ok), "{ok}");
        }
        for bad in ["0MiB", "129MiB", "1023KiB", "1MB", "1GiB", "1 MiB", "01MiB"] {
            assert!(!matches(&pattern, bad), "{bad}");
        }
        let interval = duration_range_schema("0s", "900s");
        let pattern = interval.get("pattern").and_then(|p| p.as_str()).unwrap_or_default().to_owned();
        for ok in ["0s", "60s", "900s", "15m", "900000ms", "0h"] {
            assert!(matches(&pattern, ok), "{ok}");
        }
        for bad in ["901s", "16m", "1h", "1d", "900001ms"] {
            assert!(!matches(&pattern, bad), "{bad}");
        }
    }
}
