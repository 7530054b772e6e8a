//! Triple DES (DES-EDE3) in CBC mode, decryption only, for OpenSSH keys written with
//! `ssh-keygen -Z 3des-cbc`.
//!
//! `ssh-key` 0.6 decrypts every other cipher OpenSSH offers, but its `3des-cbc` support sits
//! behind a feature that pulls in the `des` crate, which is not in our dependency tree. DES is
//! small and fully specified (FIPS 46-3), so this is a plain table-driven implementation: slow,
//! not constant-time in the table lookups, and used only to decrypt a few hundred bytes of a
//! local key file with a key derived from the user's passphrase. Round keys are zeroized.

use zeroize::Zeroizing;

/// The DES block size.
pub(super) const BLOCK_BYTES: usize = 8;
/// A DES-EDE3 key: three DES keys.
pub(super) const KEY_BYTES: usize = 24;

const INITIAL_PERMUTATION: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

const FINAL_PERMUTATION: [u8; 64] = [
    40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30,
    37, 5, 45, 13, 53, 21, 61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
    34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
];

const EXPANSION: [u8; 48] = [
    32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18,
    19, 20, 21, 20, 21, 22, 23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];

const ROUND_PERMUTATION: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

const PERMUTED_CHOICE_1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

const PERMUTED_CHOICE_2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

const ROTATIONS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

const S_BOXES: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// Applies a DES bit permutation: `table` lists, for each output bit from the most significant,
/// the 1-based input bit (counted from the most significant of `input_bits`).
fn permute(input: u64, input_bits: u32, table: &[u8]) -> u64 {
    table.iter().fold(0, |out, &position| {
        (out << 1) | ((input >> (input_bits - u32::from(position))) & 1)
    })
}

/// The 16 round keys of one DES key.
fn round_keys(key: [u8; 8]) -> Zeroizing<[u64; 16]> {
    let mut keys = Zeroizing::new([0u64; 16]);
    let mut key_bits = Zeroizing::new(u64::from_be_bytes(key));
    let mut halves = Zeroizing::new(permute(*key_bits, 64, &PERMUTED_CHOICE_1));
    *key_bits = 0;
    const MASK_28: u64 = (1 << 28) - 1;
    for (round_key, rotation) in keys.iter_mut().zip(ROTATIONS) {
        let c = (*halves >> 28) & MASK_28;
        let d = *halves & MASK_28;
        let c = ((c << rotation) | (c >> (28 - rotation))) & MASK_28;
        let d = ((d << rotation) | (d >> (28 - rotation))) & MASK_28;
        *halves = (c << 28) | d;
        *round_key = permute(*halves, 56, &PERMUTED_CHOICE_2);
    }
    *halves = 0;
    keys
}

/// The round function f(R, K).
fn feistel(right: u64, round_key: u64) -> u64 {
    let mixed = permute(right, 32, &EXPANSION) ^ round_key;
    let substituted = S_BOXES.iter().enumerate().fold(0u64, |out, (i, s_box)| {
        let chunk = (mixed >> (42 - 6 * i)) & 0x3f;
        let row = ((chunk & 0x20) >> 4) | (chunk & 1);
        let column = (chunk >> 1) & 0xf;
        let index = usize::try_from(row * 16 + column).expect("a 6-bit value fits in usize");
        (out << 4) | u64::from(s_box[index])
    });
    permute(substituted, 32, &ROUND_PERMUTATION)
}

/// One DES block operation with the round keys applied in the given order.
fn des_block<'k>(block: u64, round_keys: impl Iterator<Item = &'k u64>) -> u64 {
    let permuted = permute(block, 64, &INITIAL_PERMUTATION);
    let (mut left, mut right) = (permuted >> 32, permuted & 0xffff_ffff);
    for &round_key in round_keys {
        let next = left ^ feistel(right, round_key);
        left = right;
        right = next;
    }
    permute((right << 32) | left, 64, &FINAL_PERMUTATION)
}

/// Round keys of the three DES keys of a DES-EDE3 key.
struct TripleDes {
    keys: [Zeroizing<[u64; 16]>; 3],
}

impl TripleDes {
    fn new(key: &[u8; KEY_BYTES]) -> Self {
        let part = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&key[i * 8..(i + 1) * 8]);
            let keys = round_keys(bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            keys
        };
        Self {
            keys: [part(0), part(1), part(2)],
        }
    }

    /// EDE3 decryption: `D_k1(E_k2(D_k3(block)))`.
    fn decrypt_block(&self, block: u64) -> u64 {
        let [k1, k2, k3] = &self.keys;
        let step = des_block(block, k3.iter().rev());
        let step = des_block(step, k2.iter());
        des_block(step, k1.iter().rev())
    }

    #[cfg(test)]
    fn encrypt_block(&self, block: u64) -> u64 {
        let [k1, k2, k3] = &self.keys;
        let step = des_block(block, k1.iter());
        let step = des_block(step, k2.iter().rev());
        des_block(step, k3.iter())
    }
}

/// Why 3DES-CBC decryption was refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TdesError {
    /// The key or IV has the wrong length, or the data is not whole blocks.
    Length,
}

/// Decrypts `data` in place with DES-EDE3-CBC.
pub(super) fn decrypt_cbc(key: &[u8], iv: &[u8], data: &mut [u8]) -> Result<(), TdesError> {
    let key: &[u8; KEY_BYTES] = key.try_into().map_err(|_| TdesError::Length)?;
    let iv: [u8; BLOCK_BYTES] = iv.try_into().map_err(|_| TdesError::Length)?;
    if !data.len().is_multiple_of(BLOCK_BYTES) {
        return Err(TdesError::Length);
    }
    let cipher = TripleDes::new(key);
    let mut previous = u64::from_be_bytes(iv);
    for chunk in data.chunks_exact_mut(BLOCK_BYTES) {
        let block: [u8; BLOCK_BYTES] = (&*chunk).try_into().expect("chunks are exactly 8 bytes");
        let ciphertext = u64::from_be_bytes(block);
        let plaintext = cipher.decrypt_block(ciphertext) ^ previous;
        chunk.copy_from_slice(&plaintext.to_be_bytes());
        previous = ciphertext;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_des_known_answer() {
        // The classic worked example (key 133457799BBCDFF1): with k1 = k2 = k3, EDE3 is DES.
        let key: [u8; 24] = [
            0x13, 0x34, 0x57, 0x79, 0x9b, 0xbc, 0xdf, 0xf1, 0x13, 0x34, 0x57, 0x79, 0x9b, 0xbc,
            0xdf, 0xf1, 0x13, 0x34, 0x57, 0x79, 0x9b, 0xbc, 0xdf, 0xf1,
        ];
        let cipher = TripleDes::new(&key);
        assert_eq!(
            cipher.encrypt_block(0x0123_4567_89ab_cdef),
            0x85e8_1354_0f0a_b405
        );
        assert_eq!(
            cipher.decrypt_block(0x85e8_1354_0f0a_b405),
            0x0123_4567_89ab_cdef
        );
    }

    #[test]
    fn triple_des_cbc_known_answer() {
        // NIST SP 800-67 example keys; ciphertext from `openssl enc -des-ede3-cbc -nopad`.
        let key = hex("0123456789abcdef23456789abcdef01456789abcdef0123");
        let iv = hex("f69f2445df4f9b17");
        let mut data = hex(OPENSSL_CIPHERTEXT);
        decrypt_cbc(&key, &iv, &mut data).unwrap();
        assert_eq!(data, b"The quick brown fox jump");
    }

    #[test]
    fn lengths_are_checked() {
        let mut data = [0u8; 7];
        assert_eq!(
            decrypt_cbc(&[0; 24], &[0; 8], &mut data),
            Err(TdesError::Length)
        );
        let mut data = [0u8; 8];
        assert_eq!(
            decrypt_cbc(&[0; 16], &[0; 8], &mut data),
            Err(TdesError::Length)
        );
        assert_eq!(
            decrypt_cbc(&[0; 24], &[0; 16], &mut data),
            Err(TdesError::Length)
        );
    }

    const OPENSSL_CIPHERTEXT: &str = "63693c3d378a862f8051ae7c2934a296aa6c3102b6e5b79e";

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}
