//! Scalar typing for the YAML store: a port of go-yaml v3 `resolve.go` as sops 3.11 sees it.
//!
//! sops reads every scalar with `node.Decode(&interface{})`, so the Go type a scalar gets (and
//! with it the `type:` of its `ENC[...]` value and the bytes hashed into the MAC) is decided here:
//! YAML 1.2 booleans only, integers with Go's `strconv.ParseInt(s, 0, 64)` after removing `_`,
//! floats, `.inf`/`.nan`, nulls and unquoted timestamps. The emitter asks the same question in
//! reverse ([`resolves_to_str`]) to decide whether a string may be written without quotes.

use base64::Engine as _;

use crate::tree::Value;

/// What a scalar resolves to, before it becomes a [`Value`].
#[derive(Debug, PartialEq)]
pub(super) enum Resolved {
    /// A value the tree can hold.
    Value(Value),
    /// An integer above `i64::MAX` that fits a `u64` (sops: "unknown type: uint64").
    Uint64,
}

/// The tag of a scalar, reduced to what decides its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ScalarTag {
    /// No tag: plain scalars are resolved, quoted and block scalars are strings.
    None,
    /// `!!str`, `!!merge`, or a tag go-yaml does not resolve (`!custom`, `!`): a string.
    Str,
    /// `!!binary`: base64 decoded into the string.
    Binary,
    /// `!!null`, `!!bool`, `!!int`, `!!float`, `!!timestamp`: resolve and check the kind.
    Core(CoreKind),
}

/// The resolvable core-schema kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CoreKind {
    /// `!!null`.
    Null,
    /// `!!bool`.
    Bool,
    /// `!!int`.
    Int,
    /// `!!float`.
    Float,
    /// `!!timestamp`.
    Timestamp,
}

/// Types a scalar as go-yaml v3 `decoder.scalar` does for an `interface{}` target.
///
/// `quoted` is true for single/double quoted and literal/folded scalars. A decode failure that
/// sops ignores (e.g. `!!int abc`) gives `Null`, as sops' unchecked `node.Decode` leaves nil.
pub(super) fn resolve_scalar(text: &str, quoted: bool, tag: ScalarTag) -> Resolved {
    match tag {
        ScalarTag::Str => Resolved::Value(Value::Str(text.into())),
        ScalarTag::Binary => {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
                Ok(bytes) => Resolved::Value(Value::Str(bytes.into())),
                Err(_) => Resolved::Value(Value::Null),
            }
        }
        ScalarTag::None if quoted => Resolved::Value(Value::Str(text.into())),
        ScalarTag::None => resolve_plain(text, true),
        ScalarTag::Core(kind) => {
            let resolved = resolve_plain(text, matches!(kind, CoreKind::Timestamp));
            match (kind, resolved) {
                (CoreKind::Null, r @ Resolved::Value(Value::Null))
                | (CoreKind::Bool, r @ Resolved::Value(Value::Bool(_)))
                | (CoreKind::Int, r @ (Resolved::Value(Value::Int(_)) | Resolved::Uint64))
                | (CoreKind::Float, r @ Resolved::Value(Value::Float(_)))
                | (CoreKind::Timestamp, r @ Resolved::Value(Value::Time(_))) => r,
                (CoreKind::Float, Resolved::Value(Value::Int(i))) => {
                    Resolved::Value(Value::Float(i as f64))
                }
                _ => Resolved::Value(Value::Null),
            }
        }
    }
}

/// Types a scalar as go-yaml v3 decodes it into a Go `string` (the string fields of
/// `.sops.yaml`): its own text whatever a document read would make of it (`1.10`, `0x1F`,
/// `True` and `2001-12-14` stay as written), `!!binary` decoded, and a null (`~`, `null`,
/// nothing) as null, which such a field reads as empty.
pub(super) fn resolve_as_text(text: &str, quoted: bool, tag: ScalarTag) -> Resolved {
    match resolve_scalar(text, quoted, tag) {
        null @ Resolved::Value(Value::Null) => null,
        decoded if tag == ScalarTag::Binary => decoded,
        _ => Resolved::Value(Value::Str(text.into())),
    }
}

/// `resolve("", s)` for a plain scalar. `timestamps` is false only for explicit non-timestamp
/// tags, where go-yaml skips the timestamp attempt.
pub(super) fn resolve_plain(s: &str, timestamps: bool) -> Resolved {
    let value = |v| Resolved::Value(v);
    if let Some(named) = named_value(s) {
        return value(named);
    }
    let Some(&first) = s.as_bytes().first() else {
        return value(Value::Null);
    };
    match first {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return value(Value::Float(f));
            }
        }
        b'0'..=b'9' | b'+' | b'-' => {
            if timestamps && let Some(time) = parse_timestamp(s) {
                return value(Value::Time(time));
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return value(Value::Int(i));
            }
            if go_parse_uint(&plain).is_some() {
                return Resolved::Uint64;
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return value(Value::Float(f));
            }
            // The "0b"/"0o" branches of resolve.go only matter past the ranges above.
            for (prefix, radix) in [("0b", 2), ("0o", 8)] {
                if let Some(digits) = plain.strip_prefix(prefix) {
                    if let Ok(i) = i64::from_str_radix(digits, radix)
                        && !digits.starts_with(['+', '-'])
                    {
                        return value(Value::Int(i));
                    }
                    if !digits.starts_with(['+', '-']) && u64::from_str_radix(digits, radix).is_ok()
                    {
                        return Resolved::Uint64;
                    }
                }
            }
        }
        _ => {}
    }
    value(Value::Str(s.into()))
}

/// The value of a plain scalar that resolve.go knows by its whole text (YAML 1.2 booleans,
/// nulls, `.nan` and the infinities), if `s` is one.
fn named_value(s: &str) -> Option<Value> {
    Some(match s {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Whether the plain scalar `s` reads as a string: [`resolve_plain`]'s answer without building
/// the value (only a text starting with `.`, a digit or a sign can be a number or a time).
pub(super) fn plain_is_str(s: &str) -> bool {
    match s.as_bytes().first() {
        None | Some(b'.' | b'0'..=b'9' | b'+' | b'-') => {
            matches!(resolve_plain(s, true), Resolved::Value(Value::Str(_)))
        }
        Some(_) => named_value(s).is_none(),
    }
}

/// Whether go-yaml would read `s`, written plain, back as a string; used for quoting decisions
/// (`stringv`: `resolve("", s) == strTag && !isBase60Float(s) && !isOldBool(s)`).
pub(super) fn resolves_to_str(s: &str) -> bool {
    plain_is_str(s) && !is_base60_float(s) && !is_old_bool(s)
}

/// go-yaml's `isOldBool`: YAML 1.1 booleans, quoted on output for other parsers' sake.
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        let start = i;
        while i < b.len() && i < start + 2 && b[i].is_ascii_digit() {
            i += 1;
        }
        let group = &b[start..i];
        let ok = match group {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.ParseFloat(s, 64)` for decimal text: `None` on syntax error or overflow.
fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !valid {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Splits Go's base prefix for `ParseInt(s, 0, ...)`: returns (radix, digits).
fn go_base_prefix(s: &str) -> (u32, &str) {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return (16, &s[2..]),
            b'o' | b'O' => return (8, &s[2..]),
            b'b' | b'B' => return (2, &s[2..]),
            _ => return (8, &s[1..]),
        }
    }
    (10, s)
}

/// Go `strconv.ParseUint(s, 0, 64)` (underscores already removed).
fn go_parse_uint(s: &str) -> Option<u64> {
    let (radix, digits) = go_base_prefix(s);
    if digits.is_empty() && !(radix == 8 && s.len() == 1) {
        return None;
    }
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go `strconv.ParseInt(s, 0, 64)` (underscores already removed).
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body == "0" {
        return Some(0);
    }
    let magnitude = go_parse_uint(body)?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// go-yaml `parseTimestamp` with Go `time.Parse`, formatted as `time.Time.MarshalText`
/// (RFC 3339 with nanoseconds, trailing zeros trimmed, `Z` for a zero offset).
pub(super) fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, i: 5 };
    let year: u32 = s.get(..4)?.parse().ok()?;
    let month = p.num12()?;
    p.expect(b'-')?;
    let day = p.num12()?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return None;
    }
    if p.i == b.len() {
        return Some(format!("{year:04}-{month:02}-{day:02}T00:00:00Z"));
    }
    let zoned = match b.get(p.i) {
        Some(b'T' | b't') => true,
        Some(b' ') => false,
        _ => return None,
    };
    p.i += 1;
    let hour = p.num12()?;
    p.expect(b':')?;
    let minute = p.num12()?;
    p.expect(b':')?;
    let second = p.num12()?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut nanos = 0u32;
    if matches!(b.get(p.i), Some(b'.' | b',')) && b.get(p.i + 1).is_some_and(u8::is_ascii_digit) {
        p.i += 1;
        let start = p.i;
        while b.get(p.i).is_some_and(u8::is_ascii_digit) {
            p.i += 1;
        }
        let digits = &s[start..p.i];
        let mut nine: String = digits.chars().take(9).collect();
        while nine.len() < 9 {
            nine.push('0');
        }
        nanos = nine.parse().ok()?;
    }
    let mut offset_minutes: i32 = 0;
    if zoned {
        match b.get(p.i) {
            Some(b'Z') => p.i += 1,
            Some(sign @ (b'+' | b'-')) => {
                let rest = b.get(p.i..p.i + 6)?;
                if rest[3] != b':' || !rest[1..3].iter().chain(&rest[4..6]).all(u8::is_ascii_digit)
                {
                    return None;
                }
                let hh = i32::from(rest[1] - b'0') * 10 + i32::from(rest[2] - b'0');
                let mm = i32::from(rest[4] - b'0') * 10 + i32::from(rest[5] - b'0');
                if hh > 24 || mm > 60 {
                    return None;
                }
                offset_minutes = (hh * 60 + mm) * if *sign == b'-' { -1 } else { 1 };
                p.i += 6;
            }
            _ => return None,
        }
    }
    if p.i != b.len() {
        return None;
    }
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    if offset_minutes == 0 {
        out.push('Z');
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.unsigned_abs();
        out.push_str(&format!("{sign}{:02}:{:02}", abs / 60, abs % 60));
    }
    Some(out)
}

/// A byte cursor for [`parse_timestamp`].
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// One or two digits (Go's `getnum(value, false)`).
    fn num12(&mut self) -> Option<u32> {
        let first = *self.b.get(self.i).filter(|c| c.is_ascii_digit())?;
        self.i += 1;
        let mut n = u32::from(first - b'0');
        if let Some(&second) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            self.i += 1;
            n = n * 10 + u32::from(second - b'0');
        }
        Some(n)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Resolved {
        resolve_plain(s, true)
    }

    #[test]
    fn ints_follow_go_parse_int() {
        for (text, want) in [
            ("0x1F", 31),
            ("010", 8),
            ("0o17", 15),
            ("0b101", 5),
            ("1_000", 1000),
            ("-0x10", -16),
            ("+7", 7),
            ("0", 0),
            ("-9223372036854775808", i64::MIN),
        ] {
            assert_eq!(plain(text), Resolved::Value(Value::Int(want)), "{text}");
        }
        assert_eq!(plain("18446744073709551615"), Resolved::Uint64);
        assert!(matches!(plain("08"), Resolved::Value(Value::Float(f)) if f == 8.0));
        assert!(matches!(
            plain("99999999999999999999"),
            Resolved::Value(Value::Float(_))
        ));
    }

    #[test]
    fn other_scalars() {
        assert_eq!(plain("yes"), Resolved::Value(Value::Str("yes".into())));
        assert_eq!(plain("~"), Resolved::Value(Value::Null));
        assert!(matches!(plain(".inf"), Resolved::Value(Value::Float(f)) if f.is_infinite()));
        assert!(matches!(plain("1e400"), Resolved::Value(Value::Str(_))));
        assert!(matches!(plain(".5"), Resolved::Value(Value::Float(f)) if f == 0.5));
        assert_eq!(plain("1.2.3"), Resolved::Value(Value::Str("1.2.3".into())));
    }

    #[test]
    fn timestamps_match_go() {
        assert_eq!(
            parse_timestamp("2002-12-14").as_deref(),
            Some("2002-12-14T00:00:00Z")
        );
        assert_eq!(
            parse_timestamp("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            parse_timestamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(
            parse_timestamp("2001-12-14T21:59:43+00:00").as_deref(),
            Some("2001-12-14T21:59:43Z")
        );
        assert_eq!(
            parse_timestamp("2001-1-2").as_deref(),
            Some("2001-01-02T00:00:00Z")
        );
        assert_eq!(parse_timestamp("2002-13-14"), None);
        assert_eq!(parse_timestamp("2024-02-30"), None);
        assert_eq!(parse_timestamp("2001-12-14 21:59:43.10 -5"), None);
    }

    #[test]
    fn quoting_questions() {
        for s in [
            "yes",
            "on",
            "y",
            "1:20",
            "190:20:30",
            "12:30",
            "1.0",
            "0x10",
            "null",
            "",
        ] {
            assert!(!resolves_to_str(s), "{s}");
        }
        for s in ["hello", "1.2.3", "0x", "1e", "<<", "1,000"] {
            assert!(resolves_to_str(s), "{s}");
        }
    }
}
