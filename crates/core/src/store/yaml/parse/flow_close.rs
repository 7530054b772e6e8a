//! A flow map holding only comments, closed below the block indentation: go-yaml writes a map
//! whose only content is a comment (`a: {} # c` read by go-yaml) as `a: {\n    # c\n}`, with
//! the `}` in column 0 at any depth, and reads that back as an empty map without the comment
//! (sops 3.11 does both; `tests/vectors/yaml/comment_after_empty_flow_map`). saphyr refuses
//! the `}` ("invalid indentation", it checks flow content against the block indentation as
//! go-yaml does not). [`close_comment_only_flow`] rewrites exactly that shape into what go-yaml
//! reads from it, keeping every character index and line of the text.

/// How many such maps one input may hold: each is found by a failed scan and costs one more
/// parse of the whole text, so the bound keeps a hostile file to at most 17 parses (beyond it,
/// the scanner's error is reported as it stands).
pub(super) const MAX_REWRITES: usize = 16;

/// The text with the comment-only flow map whose `}` sits at character `at` rewritten as
/// go-yaml reads it: its comment lines blanked (go-yaml drops them) and the `}` moved onto the
/// first of them, at its `#`. `None` unless the text has exactly that shape there: a `}` first
/// on its line, after one or more comment lines (blank lines may sit between), after a line
/// that ends with the map's `{` as a value (`key: {`, `- {`) or alone.
pub(super) fn close_comment_only_flow(text: &str, at: usize) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.get(at) != Some(&'}') {
        return None;
    }
    let line_start = |chars: &[char], end: usize| {
        chars
            .get(..end)
            .and_then(|before| before.iter().rposition(|&c| c == '\n'))
            .map_or(0, |newline| newline + 1)
    };
    let start = line_start(&chars, at);
    if !chars.get(start..at)?.iter().all(|&c| c == ' ') {
        return None;
    }
    // Walk back: (start, end, index of the `#`) of each comment line, last one first.
    let mut comments = Vec::new();
    let mut end = start.checked_sub(1)?;
    loop {
        let begin = line_start(&chars, end);
        let line = chars.get(begin..end)?;
        let blank = |c: &char| matches!(c, ' ' | '\t' | '\r');
        match line.iter().position(|c| !blank(c)) {
            None => {}
            Some(first) if line.get(first) == Some(&'#') => {
                comments.push((begin, end, begin + first));
            }
            Some(first) => {
                let last = line.iter().rposition(|c| !blank(c))?;
                let head: String = line.get(first..=last)?.iter().collect();
                if !(head == "{" || head.ends_with(": {") || head == "- {") {
                    return None;
                }
                break;
            }
        }
        end = begin.checked_sub(1)?;
    }
    let &(_, _, hash) = comments.last()?;
    for &(begin, end, _) in &comments {
        chars.get_mut(begin..end)?.fill(' ');
    }
    *chars.get_mut(hash)? = '}';
    *chars.get_mut(at)? = ' ';
    Some(chars.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_shape_go_yaml_writes() {
        let nested = "k:\n    m: {\n        # d\n\n        # e\n}\n    b: 1\n";
        let rewritten = close_comment_only_flow(nested, nested.find("}\n").unwrap()).unwrap();
        assert_eq!(
            rewritten,
            "k:\n    m: {\n        }  \n\n           \n \n    b: 1\n"
        );
        assert_eq!(rewritten.chars().count(), nested.chars().count());
        for (text, why) in [
            ("a: {\n}\n", "no comment line"),
            ("a: x{\n  # c\n}\n", "a plain scalar ending in {"),
            ("a: {b: 1,\n  # c\n}\n", "entries before the comment"),
            ("a: {\n  # c\n  x}\n", "the } is not first on its line"),
        ] {
            let at = text.rfind('}').unwrap();
            assert_eq!(close_comment_only_flow(text, at), None, "{why}");
        }
        let list = "a: {\n  # c\n]\n";
        assert_eq!(
            close_comment_only_flow(list, list.rfind(']').unwrap()),
            None
        );
    }

    #[test]
    fn at_most_max_rewrites_maps_are_read() {
        let document = |maps: usize| -> String {
            (0..maps)
                .map(|i| format!("k{i}:\n    m: {{\n        # c\n}}\n    b: 1\n"))
                .collect()
        };
        let tree = super::super::parse(document(MAX_REWRITES).as_bytes()).expect("parses");
        assert_eq!(tree.branches[0].len(), MAX_REWRITES);
        let error = super::super::parse(document(MAX_REWRITES + 1).as_bytes()).unwrap_err();
        assert!(error.to_string().contains("invalid indentation"), "{error}");
    }
}
