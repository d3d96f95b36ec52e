//! Which delegated roles may list a target path: shell-style path patterns matched
//! segment by segment (as python-tuf's `fnmatchcase` per segment), SHA-256 path hash
//! prefixes, and succinct hash bins (TAP 15).

use alloc::vec::Vec;

use metadata_schemas::{DelegatedRoles, Delegations, PathSpec, RoleName, hex};

/// The roles `delegations` trusts for a path, in listed order, with their
/// `terminating` flag. `path_sha256` is the SHA-256 of the path's UTF-8 bytes.
pub fn roles_for_target(delegations: &Delegations, path: &str, path_sha256: &[u8; 32]) -> Vec<(RoleName, bool)> {
    match &delegations.roles {
        DelegatedRoles::List(roles) => roles
            .iter()
            .filter(|role| is_delegated_path(&role.paths, path, path_sha256))
            .map(|role| (role.name.clone(), role.terminating))
            .collect(),
        DelegatedRoles::Succinct(bins) => {
            let prefix = [path_sha256[0], path_sha256[1], path_sha256[2], path_sha256[3]];
            alloc::vec![(bins.bin_for_hash(prefix), true)] // every succinct bin is terminating
        }
    }
}

/// Whether a role with these `paths` may list `path`.
pub fn is_delegated_path(spec: &PathSpec, path: &str, path_sha256: &[u8; 32]) -> bool {
    match spec {
        PathSpec::Patterns(patterns) => patterns.iter().any(|p| path_matches(p, path)),
        PathSpec::HashPrefixes(prefixes) => {
            let digest = hex::encode(path_sha256);
            prefixes.iter().any(|p| digest.starts_with(p.as_str()))
        }
    }
}

/// A pattern matches when both have the same number of `/`-separated segments and each
/// segment matches: `*` and `?` never cross a `/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    pattern.split('/').count() == path.split('/').count()
        && pattern.split('/').zip(path.split('/')).all(|(p, t)| segment_matches(p, t))
}

#[derive(Debug)]
enum Token {
    Star,
    Any,
    Literal(char),
    /// A `[...]` set: whether negated, and inclusive ranges (a single char is `c..=c`).
    Set(bool, Vec<(char, char)>),
}

/// Python's `fnmatch` syntax: `*`, `?`, `[seq]`, `[!seq]` with ranges; a `[` without a
/// closing `]` is literal; case-sensitive.
fn tokens(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
                i += 1;
            }
            '?' => {
                out.push(Token::Any);
                i += 1;
            }
            '[' => match set_end(&chars, i + 1) {
                Some(end) => {
                    out.push(set(&chars[i + 1..end]));
                    i = end + 1;
                }
                None => {
                    out.push(Token::Literal('['));
                    i += 1;
                }
            },
            c => {
                out.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    out
}

/// Index of the `]` closing a set whose contents start at `start`.
fn set_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1; // a leading ']' is a member
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    (j < chars.len()).then_some(j)
}

fn set(contents: &[char]) -> Token {
    let (negated, body) = match contents.split_first() {
        Some(('!', rest)) => (true, rest),
        _ => (false, contents),
    };
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            ranges.push((body[k], body[k + 2])); // a reversed range matches nothing
            k += 3;
        } else {
            ranges.push((body[k], body[k]));
            k += 1;
        }
    }
    Token::Set(negated, ranges)
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Star => true,
        Token::Any => true,
        Token::Literal(l) => *l == c,
        Token::Set(negated, ranges) => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated,
    }
}

/// Wildcard matching with one backtracking point per `*`: linear in practice,
/// O(pattern x text) at worst, never exponential.
fn segment_matches(pattern: &str, text: &str) -> bool {
    let tokens = tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(token) if token_matches(token, text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| matches!(token, Token::Star))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_never_crosses_a_slash() {
        assert!(path_matches("a/*", "a/b"));
        assert!(!path_matches("a/*", "a/b/c"));
        assert!(!path_matches("*", "a/b"));
        assert!(path_matches("*/*", "a/b"));
        assert!(path_matches("a/*.txt", "a/x.txt"));
        assert!(!path_matches("a/*.txt", "a/x.txt.gz"));
        assert!(path_matches("*.tar.*", "x.tar.gz"));
    }

    #[test]
    fn glob_question_mark_and_sets_follow_fnmatch() {
        assert!(path_matches("file?.bin", "file1.bin"));
        assert!(!path_matches("file?.bin", "file.bin"));
        assert!(!path_matches("file?.bin", "file12.bin"));
        assert!(path_matches("v[0-9].img", "v7.img"));
        assert!(!path_matches("v[0-9].img", "vx.img"));
        assert!(path_matches("v[!0-9].img", "vx.img"));
        assert!(!path_matches("v[!0-9].img", "v7.img"));
        assert!(path_matches("[]]", "]"));
        assert!(path_matches("[!]]", "a"));
        assert!(path_matches("a[", "a["), "an unclosed [ is literal");
        assert!(!path_matches("[z-a]", "m"), "a reversed range matches nothing");
        assert!(path_matches("[a-]", "-"));
    }

    #[test]
    fn glob_is_case_sensitive_and_exact() {
        assert!(!path_matches("A.txt", "a.txt"));
        assert!(path_matches("exact/path.txt", "exact/path.txt"));
        assert!(!path_matches("exact/path.txt", "exact/path.tx"));
        assert!(path_matches("", ""));
        assert!(path_matches("*", ""));
    }

    #[test]
    fn glob_backtracking_is_not_exponential() {
        let pattern = "*a*a*a*a*a*a*a*a*a*a*b";
        let text = "a".repeat(4000);
        assert!(!path_matches(pattern, &text));
    }
}
