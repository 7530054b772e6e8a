//! Bech32 without a length limit, as Go age's `internal/bech32` reads and writes it: the
//! encoding of every age key.
//!
//! The post-quantum recipient is 1959 characters long, past BIP 173's 1023-character limit that
//! the `bech32` crate's stock checksum enforces, so this module defines the same BCH code with
//! no length limit (the technique rage uses for its `Bech32Long`). On top of the checksum it
//! applies Go age's rules: the human-readable part is compared case-sensitively as written, only
//! the Bech32 constant 1 is accepted (never Bech32m), and the padding must be at most 4 zero bits.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Checksum, Hrp};
use zeroize::Zeroizing;

/// BIP 173's checksum without its code length limit.
enum Bech32Long {}

impl Checksum for Bech32Long {
    type MidstateRepr = u32;
    const CODE_LENGTH: usize = usize::MAX;
    const CHECKSUM_LENGTH: usize = 6;
    // The generator and residue of BIP 173, taken from the stock checksum.
    const GENERATOR_SH: [u32; 5] = <bech32::Bech32 as Checksum>::GENERATOR_SH;
    const TARGET_RESIDUE: u32 = <bech32::Bech32 as Checksum>::TARGET_RESIDUE;
}

/// Decodes `text`, whose human-readable part must be exactly `hrp` (same case), into bytes.
///
/// Returns `None` for anything Go age's decoder refuses: a bad checksum, mixed case, another
/// human-readable part, or non-canonical padding. The bytes are wiped on drop, since identities
/// go through here too.
pub(crate) fn decode(text: &str, hrp: &str) -> Option<Zeroizing<Vec<u8>>> {
    // The data characters never include '1', so the separator is the one right after `hrp`;
    // the crate enforces a single case and checks the checksum over the lowercased part.
    let rest = text.strip_prefix(hrp)?;
    if !rest.starts_with('1') {
        return None;
    }
    let checked = CheckedHrpstring::new::<Bech32Long>(text).ok()?;
    if checked.hrp().as_str() != hrp {
        return None;
    }
    checked.validate_segwit_padding().ok()?;
    Some(Zeroizing::new(checked.byte_iter().collect()))
}

/// Encodes `data` under `hrp`, in upper case when `hrp` is upper case (identities) and in
/// lower case otherwise (recipients).
pub(crate) fn encode(hrp: &str, data: &[u8]) -> String {
    let parsed = Hrp::parse(hrp).expect("the human-readable parts are valid constants");
    let encoded = if hrp.bytes().any(|b| b.is_ascii_uppercase()) {
        bech32::encode_upper::<Bech32Long>(parsed, data)
    } else {
        bech32::encode_lower::<Bech32Long>(parsed, data)
    };
    encoded.expect("the long checksum has no length limit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_past_the_bip173_limit() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1216).collect();
        let text = encode("age1pq", &data);
        assert_eq!(text.len(), 1959);
        assert_eq!(decode(&text, "age1pq").unwrap().as_slice(), data.as_slice());
        // The stock checksum refuses it: the reason this module exists.
        assert!(CheckedHrpstring::new::<bech32::Bech32>(&text).is_err());
    }

    #[test]
    fn refuses_what_go_age_refuses() {
        let seed = [7u8; 32];
        let upper = encode("AGE-SECRET-KEY-PQ-", &seed);
        assert_eq!(upper.len(), 77);
        assert!(decode(&upper, "AGE-SECRET-KEY-PQ-").is_some());
        // Case-sensitive human-readable part, no mixed case.
        assert!(decode(&upper.to_lowercase(), "AGE-SECRET-KEY-PQ-").is_none());
        assert!(decode(&upper.to_lowercase(), "age-secret-key-pq-").is_some());
        let letter = upper
            .char_indices()
            .skip("AGE-SECRET-KEY-PQ-1".len())
            .find(|(_, c)| c.is_ascii_alphabetic())
            .map(|(at, _)| at)
            .expect("the data part has letters");
        let mut mixed = upper.clone();
        mixed.replace_range(letter..=letter, &upper[letter..=letter].to_lowercase());
        assert!(decode(&mixed, "AGE-SECRET-KEY-PQ-").is_none());
        // Bech32m is another checksum.
        let m = bech32::encode_upper::<bech32::Bech32m>(
            Hrp::parse("AGE-SECRET-KEY-PQ-").unwrap(),
            &seed,
        )
        .unwrap();
        assert!(decode(&m, "AGE-SECRET-KEY-PQ-").is_none());
        // Another human-readable part with the same prefix.
        let longer = encode("AGE-SECRET-KEY-PQ-1X", &seed);
        assert!(decode(&longer, "AGE-SECRET-KEY-PQ-").is_none());
    }

    #[test]
    fn refuses_non_zero_padding() {
        // 32 bytes are 52 characters with 4 padding bits; set one of them and fix the checksum
        // by re-encoding the 5-bit groups with the checksum computed over them.
        use bech32::Fe32;
        use bech32::primitives::iter::{ByteIterExt, Fe32IterExt};
        let seed = [0u8; 32];
        let mut groups: Vec<Fe32> = seed.iter().copied().bytes_to_fes().collect();
        let last = groups.len() - 1;
        groups[last] = Fe32::try_from(1u8).unwrap();
        let hrp = Hrp::parse("AGE-SECRET-KEY-PQ-").unwrap();
        let text: String = groups
            .into_iter()
            .with_checksum::<Bech32Long>(&hrp)
            .chars()
            .collect::<String>()
            .to_uppercase();
        assert!(decode(&text, "AGE-SECRET-KEY-PQ-").is_none());
        let good = encode("AGE-SECRET-KEY-PQ-", &seed);
        assert!(decode(&good, "AGE-SECRET-KEY-PQ-").is_some());
    }
}
