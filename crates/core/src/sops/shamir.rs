//! Shamir secret sharing over GF(2^8), byte-compatible with sops' `shamir` package.
//!
//! sops splits the data key between key groups with a copy of HashiCorp Vault's Shamir code, as
//! changed in sops 3.10: the field is GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1 (`0x11B`),
//! multiplication is constant-time shift-and-xor, and the inverse is `a^254`. Every byte of the
//! secret gets its own random polynomial of degree `threshold - 1`. Share `i` (0-based) is the
//! `secret.len()` y-bytes followed by one x byte, and x is `i + 1` (sops no longer uses Vault's
//! random x permutation; [`combine`] accepts either). Combining is Lagrange interpolation at 0.
//!
//! Written here on purpose, not taken from a crate: the Shamir crates on crates.io use other
//! fields, share layouts or x coordinates, and none reads and writes sops' shares byte for byte.
//! This is compatibility code; the tests pin it against shares made by the real sops 3.11.

use zeroize::Zeroizing;

/// The number of bytes a share adds to the secret: the trailing x coordinate.
pub(crate) const SHARE_OVERHEAD_BYTES: usize = 1;

/// Why `split` or `combine` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// The threshold is larger than the number of parts.
    #[error(
        "cannot split into {parts} parts with threshold {threshold}: parts cannot be less than the threshold"
    )]
    PartsLessThanThreshold {
        /// The number of parts asked for.
        parts: usize,
        /// The threshold asked for.
        threshold: usize,
    },
    /// More than 255 parts (or a threshold above 255) were asked for.
    #[error("cannot split into {parts} parts: at most 255 parts are possible")]
    TooManyParts {
        /// The number of parts asked for.
        parts: usize,
    },
    /// The threshold is below 2.
    #[error("threshold {threshold} is too small: it must be at least 2")]
    ThresholdTooSmall {
        /// The threshold asked for.
        threshold: usize,
    },
    /// The secret to split is empty.
    #[error("cannot split an empty secret")]
    EmptySecret,
    /// The operating system's random number generator failed.
    #[error("cannot get random bytes for the polynomial")]
    Random(#[source] getrandom::Error),
    /// Fewer than two parts were given to `combine`.
    #[error("cannot combine {count} part(s): at least 2 are needed")]
    TooFewParts {
        /// The number of parts given.
        count: usize,
    },
    /// A part is shorter than two bytes (one y byte and the x byte).
    #[error("share {index} is too short ({len} bytes)")]
    PartTooShort {
        /// The position of the part among those given.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// The parts do not all have the same length.
    #[error("share {index} has {found} bytes, but the first share has {expected}")]
    LengthMismatch {
        /// The position of the part among those given.
        index: usize,
        /// The length of the first part.
        expected: usize,
        /// The length of this part.
        found: usize,
    },
    /// Two parts share an x coordinate.
    #[error("duplicate share: x coordinate {x} appears more than once")]
    DuplicatePart {
        /// The repeated x coordinate.
        x: u8,
    },
}

/// Adds two field elements (xor).
fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// Multiplies two field elements in constant time (sops `mult`).
fn mult(a: u8, b: u8) -> u8 {
    let mut r: u8 = 0;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        r = (bit.wrapping_neg() & a) ^ ((r >> 7).wrapping_neg() & 0x1B) ^ r.wrapping_add(r);
    }
    r
}

/// The multiplicative inverse `a^254` by sops' fixed chain (0 maps to 0).
fn inverse(a: u8) -> u8 {
    let mut b = mult(a, a);
    let mut c = mult(a, b);
    b = mult(c, c);
    b = mult(b, b);
    c = mult(b, c);
    b = mult(b, b);
    b = mult(b, b);
    b = mult(b, c);
    b = mult(b, b);
    b = mult(a, b);
    mult(b, b)
}

/// Divides `a` by a non-zero `b`.
fn div(a: u8, b: u8) -> u8 {
    mult(a, inverse(b))
}

/// Evaluates the polynomial with `coefficients` (constant first) at `x` (Horner's rule).
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0, |acc, &c| add(mult(acc, x), c))
}

/// Lagrange interpolation at 0 of the points `(xs[i], ys[i])`.
fn interpolate_at_zero(xs: &[u8], ys: &[u8]) -> u8 {
    let mut result = 0;
    for (i, (&xi, &yi)) in xs.iter().zip(ys).enumerate() {
        let mut basis = 1;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                basis = mult(basis, div(add(0, xj), add(xi, xj)));
            }
        }
        result = add(result, mult(yi, basis));
    }
    result
}

/// Splits `secret` into `parts` shares, any `threshold` of which rebuild it.
///
/// Share `i` is `secret.len() + 1` bytes: the y bytes, then x = `i + 1`.
///
/// # Errors
///
/// [`ShamirError`] when `2 <= threshold <= parts <= 255` does not hold, the secret is empty, or
/// the random number generator fails.
pub(crate) fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if parts < threshold {
        return Err(ShamirError::PartsLessThanThreshold { parts, threshold });
    }
    if parts > 255 {
        return Err(ShamirError::TooManyParts { parts });
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall { threshold });
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (1..=parts)
        .map(|x| {
            let mut share = Zeroizing::new(vec![0; secret.len() + SHARE_OVERHEAD_BYTES]);
            if let Some(last) = share.last_mut() {
                *last = u8::try_from(x).expect("parts <= 255 was checked");
            }
            share
        })
        .collect();
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (index, &byte) in secret.iter().enumerate() {
        getrandom::getrandom(&mut coefficients[1..]).map_err(ShamirError::Random)?;
        coefficients[0] = byte;
        for (i, share) in shares.iter_mut().enumerate() {
            let x = u8::try_from(i + 1).expect("parts <= 255 was checked");
            share[index] = evaluate(&coefficients, x);
        }
    }
    Ok(shares)
}

/// Rebuilds the secret from at least `threshold` shares made by [`split`] (or by sops).
///
/// With fewer shares than the threshold the result is a wrong secret, not an error: Shamir
/// cannot tell. Callers detect that when the data key fails to decrypt.
///
/// # Errors
///
/// [`ShamirError`] when fewer than two parts are given, a part is shorter than two bytes, the
/// lengths differ, or two parts have the same x coordinate.
pub(crate) fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let (first, _) = match parts {
        [first, rest @ ..] if !rest.is_empty() => (first, rest),
        _ => return Err(ShamirError::TooFewParts { count: parts.len() }),
    };
    let expected = first.len();
    if expected < 2 {
        return Err(ShamirError::PartTooShort {
            index: 0,
            len: expected,
        });
    }
    let mut xs = Vec::with_capacity(parts.len());
    let mut seen = [false; 256];
    for (index, part) in parts.iter().enumerate() {
        if part.len() != expected {
            return Err(ShamirError::LengthMismatch {
                index,
                expected,
                found: part.len(),
            });
        }
        let x = *part.last().expect("length checked to be at least 2");
        if seen[usize::from(x)] {
            return Err(ShamirError::DuplicatePart { x });
        }
        seen[usize::from(x)] = true;
        xs.push(x);
    }
    let secret_len = expected - SHARE_OVERHEAD_BYTES;
    let mut secret = Zeroizing::new(vec![0u8; secret_len]);
    let mut ys = Zeroizing::new(vec![0u8; parts.len()]);
    for (index, out) in secret.iter_mut().enumerate() {
        for (y, part) in ys.iter_mut().zip(parts) {
            *y = part[index];
        }
        *out = interpolate_at_zero(&xs, &ys);
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Shares of tests/vectors/sops/shamir/s.enc.yaml (sops 3.11, threshold 2 of 3), extracted
    /// once with `age -d -i keyN.txt shareN.age | xxd -p -c 66`, where shareN.age is the N-th
    /// armored `enc` block of the file with its indentation removed.
    const SOPS_SHARES: [&str; 3] = [
        "b322426caca445a9451c80e3d848de329bc4cd63b8088a9a53e4726dacd3ec0101",
        "13e32bd92e8a0b1d66ac90e4fba4bf8aa6abc8c636ab367c558b1fd47a8ea23902",
        "73550c43509031718e356910130969e2448ecba54ccaabd757aecd4ac14c98d803",
    ];
    /// `datakey.bin` of the same directory (`xxd -p -c 64 datakey.bin`).
    const SOPS_DATA_KEY: &str = "d39465f6d2be7fc5ad85791730e5085a79e1ce00c269173151c1a0f31711d6e0";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn fips197_multiplication_example() {
        assert_eq!(mult(0x57, 0x83), 0xC1);
        assert_eq!(mult(0x57, 0x13), 0xFE);
    }

    #[test]
    fn inverse_is_inverse() {
        for a in 1..=255u8 {
            assert_eq!(mult(a, inverse(a)), 1, "a = {a}");
        }
        assert_eq!(inverse(0), 0);
    }

    #[test]
    fn sops_shares_any_two_combine_to_data_key() {
        let shares: Vec<Vec<u8>> = SOPS_SHARES.iter().map(|s| unhex(s)).collect();
        let expected = unhex(SOPS_DATA_KEY);
        for (a, b) in [(0, 1), (0, 2), (1, 2), (2, 0)] {
            let key = combine(&[&shares[a], &shares[b]]).unwrap();
            assert_eq!(*key, expected, "shares {a} and {b}");
        }
        let all: Vec<&[u8]> = shares.iter().map(Vec::as_slice).collect();
        assert_eq!(*combine(&all).unwrap(), expected);
    }

    #[test]
    fn split_layout_matches_sops() {
        let shares = split(&[7; 32], 3, 2).unwrap();
        assert_eq!(shares.len(), 3);
        for (i, share) in shares.iter().enumerate() {
            assert_eq!(share.len(), 33);
            assert_eq!(share[32], u8::try_from(i + 1).unwrap());
        }
    }

    #[test]
    fn split_rejects_bad_parameters() {
        assert!(matches!(
            split(b"k", 2, 3),
            Err(ShamirError::PartsLessThanThreshold {
                parts: 2,
                threshold: 3
            })
        ));
        assert!(matches!(
            split(b"k", 256, 2),
            Err(ShamirError::TooManyParts { parts: 256 })
        ));
        assert!(matches!(
            split(b"k", 3, 1),
            Err(ShamirError::ThresholdTooSmall { threshold: 1 })
        ));
        assert!(matches!(split(b"", 3, 2), Err(ShamirError::EmptySecret)));
    }

    #[test]
    fn combine_rejects_bad_parts() {
        assert!(matches!(
            combine(&[b"ab"]),
            Err(ShamirError::TooFewParts { count: 1 })
        ));
        assert!(matches!(
            combine(&[]),
            Err(ShamirError::TooFewParts { count: 0 })
        ));
        assert!(matches!(
            combine(&[b"a", b"b"]),
            Err(ShamirError::PartTooShort { index: 0, len: 1 })
        ));
        assert!(matches!(
            combine(&[b"ab", b"abc"]),
            Err(ShamirError::LengthMismatch {
                index: 1,
                expected: 2,
                found: 3
            })
        ));
        assert!(matches!(
            combine(&[b"a\x01", b"b\x01"]),
            Err(ShamirError::DuplicatePart { x: 1 })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn split_combine_any_threshold_subset(
            secret in proptest::collection::vec(any::<u8>(), 1..64),
            parts in 2usize..12,
            threshold_seed in any::<usize>(),
            subset_seed in any::<u64>(),
        ) {
            let threshold = 2 + threshold_seed % (parts - 1);
            let shares = split(&secret, parts, threshold).unwrap();
            // A pseudo-random subset of exactly `threshold` shares, in a shuffled order.
            let mut order: Vec<usize> = (0..parts).collect();
            let mut state = subset_seed;
            for i in (1..order.len()).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let j = usize::try_from(state >> 33).unwrap() % (i + 1);
                order.swap(i, j);
            }
            let chosen: Vec<&[u8]> = order[..threshold].iter().map(|&i| shares[i].as_slice()).collect();
            let combined = combine(&chosen).unwrap();
            prop_assert_eq!(combined.as_slice(), secret.as_slice());
        }
    }
}
