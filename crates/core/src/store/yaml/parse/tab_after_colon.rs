//! A tab between a `:` and its value: go-yaml reads `key:\tvalue` as `key: value` (a tab after
//! the `:` of a key is whitespace like a space, `scannerc.go` eats it once the key is found), and
//! so does sops 3.11; saphyr refuses it when the value starts with an ASCII letter or digit, `_`
//! or `-` ("':' must be followed by a valid YAML whitespace", from a YAML 1.2 test case).
//! [`as_spaces`] rewrites the blanks before the character saphyr points at into spaces, which
//! keeps every character index and line, and changes no value: saphyr raises this error only
//! for the `:` of a key, never inside a scalar or a comment.

/// How much text the rewrites may parse again, in bytes: each tab is found by a failed scan
/// and costs one more parse of the whole text, so a small file may hold thousands (a file
/// aligned with tabs) and a hostile large one costs a bounded time (beyond the budget, the
/// scanner's error is reported as it stands).
pub(super) const MAX_REPARSED_BYTES: usize = 32 << 20;

/// The text with the blanks between a `:` and character `at` turned into spaces; `None` unless
/// they hold a tab and follow a `:`.
pub(super) fn as_spaces(text: &str, at: usize) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let blanks = chars
        .get(..at)?
        .iter()
        .rev()
        .take_while(|&&c| matches!(c, ' ' | '\t'))
        .count();
    let start = at - blanks;
    if start == 0 || chars.get(start - 1) != Some(&':') || !chars.get(start..at)?.contains(&'\t') {
        return None;
    }
    chars.get_mut(start..at)?.fill(' ');
    Some(chars.into_iter().collect())
}

/// Every tab in the blanks between a `:` and what saphyr refuses after one (an ASCII letter or
/// digit, `_` or `-`) replaced by `with`: the places saphyr would refuse one by one, found at
/// once. Some may be inside a scalar or a comment (where a tab is content): the caller reads the
/// text with two replacements of different lengths and keeps the result only when both read the
/// same.
pub(super) fn all_replaced(text: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while let Some(colon) = rest.find(':') {
        let (head, tail) = rest.split_at(colon + 1);
        out.push_str(head);
        let blanks = tail.len() - tail.trim_start_matches([' ', '\t']).len();
        let (run, after) = tail.split_at(blanks);
        let value_starts = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
        if run.contains('\t') && value_starts {
            out.push_str(&run.replace('\t', with));
        } else {
            out.push_str(run);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_blanks_after_a_colon_change() {
        assert_eq!(as_spaces("a:\t\t b\n", 5).as_deref(), Some("a:   b\n"));
        assert_eq!(as_spaces("a:\tb\n", 3).as_deref(), Some("a: b\n"));
        assert_eq!(as_spaces("a:  b\n", 4), None, "no tab");
        assert_eq!(as_spaces("a\tb\n", 2), None, "no colon");
        assert_eq!(as_spaces("\tb\n", 1), None, "nothing before");
    }

    #[test]
    fn all_replaced_finds_every_tab_before_a_value() {
        assert_eq!(
            all_replaced("a:\tb\nc: \t-1\nd:\t# e:\tf\ng:\t'h'\n", "__"),
            "a:__b\nc: __-1\nd:\t# e:__f\ng:\t'h'\n"
        );
    }
}
