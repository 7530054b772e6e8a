//! Go's number formatting, as sops' stores and value cipher print numbers.
//!
//! sops is written in Go, so the text of a float depends on which of Go's formatters ran:
//! `strconv.FormatFloat(f, 'f', -1, 64)` for the bytes that are encrypted and hashed,
//! `FormatFloat(f, 'g', -1, 64)` in YAML output, and `encoding/json`'s rule in JSON output.
//! All three use the shortest digits that round-trip, nearest the exact value, ties to even;
//! Rust's formatter gives the same digits except on such a tie, which `Shortest::of` settles as
//! Go does. Only the layout differs between the three.
//!
//! Compatibility code written here on purpose: no crate reproduces Go's three layouts byte for
//! byte, and sops' output (and its MAC, which hashes these bytes) depends on them.

/// `strconv.FormatFloat(f, 'f', -1, 64)`: never an exponent; `+Inf`, `-Inf`, `NaN`.
pub(crate) fn format_f(f: f64) -> String {
    special(f).unwrap_or_else(|| Shortest::of(f).f_layout())
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`: `%e` layout when the decimal exponent is below -4 or
/// at least 6 (Go's `eprec` for shortest formatting), `%f` layout otherwise.
///
/// Special values print as Go does (`+Inf`, `-Inf`, `NaN`); the YAML emitter maps them to
/// `.inf`, `-.inf`, `.nan` itself.
pub(crate) fn format_g(f: f64) -> String {
    special(f).unwrap_or_else(|| {
        let shortest = Shortest::of(f);
        if (-4..6).contains(&shortest.exponent) {
            shortest.f_layout()
        } else {
            shortest.e_layout()
        }
    })
}

/// `encoding/json`'s float64 text: `'e'` layout below 1e-6 or from 1e21 on, with a one-digit
/// negative exponent cleaned up (`1e-07` → `1e-7`); `'f'` layout otherwise. JSON cannot hold
/// infinities and NaN: the caller refuses them (given one, this prints Go's `'f'` text).
pub(crate) fn format_json(f: f64) -> String {
    special(f).unwrap_or_else(|| {
        let abs = f.abs();
        let shortest = Shortest::of(f);
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
            let mut text = shortest.e_layout();
            let bytes = text.as_bytes();
            let n = bytes.len();
            if n >= 4 && bytes[n - 4] == b'e' && bytes[n - 3] == b'-' && bytes[n - 2] == b'0' {
                text.remove(n - 2);
            }
            text
        } else {
            shortest.f_layout()
        }
    })
}

/// Go's text for infinities and NaN, `None` for a finite `f`.
fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".to_owned())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned())
    } else {
        None
    }
}

/// The shortest round-trip digits of a finite float: the value is
/// `±d1.d2d3... × 10^exponent`.
struct Shortest {
    negative: bool,
    digits: String,
    exponent: i32,
}

impl Shortest {
    /// The digits Go picks for a finite `f`: of all shortest strings that read back as `f`, the
    /// one nearest its exact value, a tie going to the even last digit. Rust's shortest formatter
    /// breaks that tie upward (`1467198909461891.25` prints `1.4671989094618913e15` in Rust,
    /// `1.4671989094618912e+15` in Go), so the same number of digits correctly rounded (Rust's
    /// fixed-precision formatting rounds ties to even) is taken instead whenever it still reads
    /// back as `f`.
    fn of(f: f64) -> Self {
        let abs = f.abs();
        let shortest = format!("{abs:e}");
        let precision = shortest.find('e').map_or(0, |e| e.saturating_sub(2));
        let nearest = format!("{abs:.precision$e}");
        let text = if nearest != shortest && nearest.parse::<f64>() == Ok(abs) {
            nearest
        } else {
            shortest
        };
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
        Self {
            negative: f.is_sign_negative(),
            digits: mantissa.chars().filter(char::is_ascii_digit).collect(),
            exponent: exponent.parse().unwrap_or(0),
        }
    }

    /// Go's `%e` layout: `d.ddd`, then `e`, a sign and at least two exponent digits.
    fn e_layout(&self) -> String {
        let mut out = String::with_capacity(self.digits.len() + 7);
        if self.negative {
            out.push('-');
        }
        out.push_str(&self.digits[..1]);
        if self.digits.len() > 1 {
            out.push('.');
            out.push_str(&self.digits[1..]);
        }
        out.push('e');
        out.push(if self.exponent < 0 { '-' } else { '+' });
        let magnitude = self.exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(&magnitude.to_string());
        out
    }

    /// Go's `%f` layout: every integer digit written out (zeros past the shortest digits), no
    /// exponent.
    fn f_layout(&self) -> String {
        let digits = self.digits.as_str();
        let mut out =
            String::with_capacity(digits.len() + self.exponent.unsigned_abs() as usize + 3);
        if self.negative {
            out.push('-');
        }
        match usize::try_from(self.exponent) {
            Ok(last_integer) if last_integer + 1 >= digits.len() => {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', last_integer + 1 - digits.len()));
            }
            Ok(last_integer) => {
                out.push_str(&digits[..=last_integer]);
                out.push('.');
                out.push_str(&digits[last_integer + 1..]);
            }
            Err(_) => {
                out.push_str("0.");
                out.extend(std::iter::repeat_n(
                    '0',
                    self.exponent.unsigned_abs() as usize - 1,
                ));
                out.push_str(digits);
            }
        }
        out
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

    /// Shortest strings on a tie between two last digits, as sops 3.11 printed them (YAML `'g'`,
    /// JSON, and the MAC's `'f'` bytes, whose mismatch sops reported on aesec's file before).
    #[test]
    #[expect(
        clippy::excessive_precision,
        reason = "the literals are the texts sops was given, the point of the test"
    )]
    fn a_tie_between_shortest_digits_goes_to_the_even_one() {
        assert_eq!(format_f(1467198909461891.25), "1467198909461891.2");
        assert_eq!(format_g(1463631287317964.25), "1.4636312873179642e+15");
        assert_eq!(format_g(1851321449236229.25), "1.8513214492362292e+15");
        assert_eq!(format_json(1463631287317964.25), "1463631287317964.2");
        assert_eq!(format_json(123456789012345.675), "123456789012345.67");
        assert_eq!(format_g(123456789012345.675), "1.2345678901234567e+14");
    }

    #[test]
    fn zeros_and_the_smallest_numbers_keep_go_layout() {
        assert_eq!(format_f(0.0), "0");
        assert_eq!(format_f(-0.0), "-0");
        assert_eq!(format_g(-0.0), "-0");
        assert_eq!(format_json(-0.0), "-0");
        assert_eq!(format_json(5e-324), "5e-324");
        assert_eq!(format_g(3e-310), "3e-310");
        assert_eq!(format_f(2.5e-8), "0.000000025");
        assert_eq!(format_g(2.5e-8), "2.5e-08");
        assert_eq!(format_json(2.5e-8), "2.5e-8");
        assert_eq!(format_g(1.7976931348623157e308), "1.7976931348623157e+308");
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
        assert_eq!(format_json(f64::INFINITY), "+Inf");
        assert_eq!(format_json(f64::NAN), "NaN");
    }
}
