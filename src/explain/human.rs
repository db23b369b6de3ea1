//! Numbers for people: counts with thousands separators, sizes in binary units, spans in seconds or minutes.

/// A count: whole numbers with thousands separators (`12,000`), small fractions with up to two decimals.
pub fn count(n: f64) -> String {
    if n < 100.0 && n.fract().abs() > 1e-9 {
        return trim(format!("{n:.2}"));
    }
    let whole = format!("{:.0}", n.round());
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size: `101 B`, `98.6 KiB`, `1 MiB`, `1.2 GiB`.
pub fn bytes(n: f64) -> String {
    let units = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in units {
        if n >= size as f64 {
            return format!("{} {unit}", trim(format!("{:.1}", n / size as f64)));
        }
    }
    format!("{} B", n.round())
}

/// A span: `0.4 s`, `10.4 s`, `60 s`, `5 min`, `2.5 h`.
pub fn span(seconds: f64) -> String {
    if seconds < 120.0 {
        let digits = if seconds < 10.0 { 2 } else { 1 };
        format!("{} s", trim(format!("{seconds:.digits$}")))
    } else if seconds < 7200.0 {
        format!("{} min", trim(format!("{:.1}", seconds / 60.0)))
    } else {
        format!("{} h", trim(format!("{:.1}", seconds / 3600.0)))
    }
}

/// `1.50` -> `1.5`, `2.0` -> `2`.
fn trim(text: String) -> String {
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1000.0), "1,000");
        assert_eq!(count(1234567.4), "1,234,567");
        assert_eq!(count(2.5), "2.5");
        assert_eq!(count(0.0), "0");
        assert_eq!(bytes(101.0), "101 B");
        assert_eq!(bytes(1_048_576.0), "1 MiB");
        assert_eq!(bytes(1_572_864.0), "1.5 MiB");
        assert_eq!(span(10.38), "10.4 s");
        assert_eq!(span(0.5), "0.5 s");
        assert_eq!(span(60.0), "60 s");
        assert_eq!(span(300.0), "5 min");
    }
}
