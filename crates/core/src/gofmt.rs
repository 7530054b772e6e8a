//! Go's number formatting, as sops' stores and value cipher print numbers.
//!
//! sops is written in Go, so the text of a float depends on which of Go's formatters ran:
//! `strconv.FormatFloat(f, 'f', -1, 64)` for the bytes that are encrypted and hashed,
//! `FormatFloat(f, 'g', -1, 64)` in YAML output, and `encoding/json`'s rule in JSON output.
//! All three use the shortest digits that round-trip, which Rust's `{}` and `{:e}` also give;
//! only the layout differs.
//!
//! Compatibility code written here on purpose: no crate reproduces Go's three layouts byte for
//! byte, and sops' output (and its MAC, which hashes these bytes) depends on them.

/// `strconv.FormatFloat(f, 'f', -1, 64)`: never an exponent; `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{f}")
    }
}

/// Splits the shortest round-trip digits of a finite, non-zero `f` into (sign, digits, exponent),
/// where the value is `0.d1d2d3... × 10^(exponent+1)`, i.e. `d1.d2d3... × 10^exponent`.
fn shortest_digits(f: f64) -> (bool, String, i32) {
    let text = format!("{:e}", f.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (f.is_sign_negative(), digits, exponent.parse().unwrap_or(0))
}

/// Go's `%e` layout with shortest digits and an exponent of at least two digits.
fn format_e(f: f64) -> String {
    let (negative, digits, exponent) = shortest_digits(f);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exponent < 0 { '-' } else { '+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    out.push_str(&magnitude.to_string());
    out
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`: `%e` layout when the decimal exponent is below -4 or
/// at least 6 (Go's `eprec` for shortest formatting), `%f` layout otherwise.
///
/// Special values print as Go does (`+Inf`, `-Inf`, `NaN`); the YAML emitter maps them to
/// `.inf`, `-.inf`, `.nan` itself.
pub(crate) fn format_g(f: f64) -> String {
    if !f.is_finite() {
        return format_f(f);
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (_, _, exponent) = shortest_digits(f);
    if !(-4..6).contains(&exponent) {
        format_e(f)
    } else {
        format!("{f}")
    }
}

/// `encoding/json`'s float64 text: `'e'` layout below 1e-6 or from 1e21 on, with a one-digit
/// negative exponent cleaned up (`1e-07` → `1e-7`); `'f'` layout otherwise.
pub(crate) fn format_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut text = format_e(f);
        let bytes = text.as_bytes();
        let n = bytes.len();
        if n >= 4 && bytes[n - 4] == b'e' && bytes[n - 3] == b'-' && bytes[n - 2] == b'0' {
            text.remove(n - 2);
        }
        text
    } else if f == 0.0 && f.is_sign_negative() {
        "-0".to_owned()
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f_format_matches_go() {
        assert_eq!(format_f(1e20), "100000000000000000000");
        assert_eq!(format_f(1e3), "1000");
        assert_eq!(format_f(0.75), "0.75");
        assert_eq!(format_f(1234567.5), "1234567.5");
        assert_eq!(format_f(f64::INFINITY), "+Inf");
        assert_eq!(format_f(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_f(f64::NAN), "NaN");
    }

    #[test]
    fn g_format_matches_go() {
        assert_eq!(format_g(1e10), "1e+10");
        assert_eq!(format_g(1234567.5), "1.2345675e+06");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(1000000.0), "1e+06");
        assert_eq!(format_g(100000.0), "100000");
        assert_eq!(format_g(3.0), "3");
        assert_eq!(format_g(0.75), "0.75");
        assert_eq!(format_g(-2.5e-7), "-2.5e-07");
        assert_eq!(format_g(1e20), "1e+20");
        assert_eq!(format_g(1e100), "1e+100");
    }

    #[test]
    fn json_format_matches_go() {
        assert_eq!(format_json(1e21), "1e+21");
        assert_eq!(format_json(1e-7), "1e-7");
        assert_eq!(format_json(1.5), "1.5");
        assert_eq!(format_json(42.0), "42");
        assert_eq!(format_json(1e20), "100000000000000000000");
        assert_eq!(format_json(0.000001), "0.000001");
        assert_eq!(format_json(1.5e-10), "1.5e-10");
        assert_eq!(format_json(12345678901234567890.0), "12345678901234567000");
    }
}
