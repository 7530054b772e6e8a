//! An independent ssh-to-age, the oracle for aesec's `keys ssh-to-age` and for every recipient
//! the tests expect from an SSH key. It shares no code with aesec: it is written from the math,
//! with its own field arithmetic and its own Bech32 encoder.
//!
//! - A public key: the Ed25519 point's `y` (the 32 key bytes, little-endian, top bit cleared) is
//!   mapped to the Montgomery `u = (1 + y) / (1 − y) mod p`, p = 2²⁵⁵ − 19 (the birational map
//!   of RFC 7748 §4.1), and `u` (32 bytes, little-endian) is Bech32-encoded with HRP `age`.
//! - A private key: ssh-to-age's scalar, `SHA-512(seed)[..32]` **unclamped** (Mic92/ssh-to-age
//!   `convert.go`, `ed25519PrivateKeyToCurve25519`), Bech32-encoded with HRP
//!   `AGE-SECRET-KEY-` and upper-cased.
//!
//! Bech32 is BIP-173's (the classic checksum constant 1), as age uses it.

use base64::Engine as _;
use sha2::{Digest, Sha512};

/// A field element mod p as four little-endian 64-bit limbs, always fully reduced.
type Fe = [u64; 4];

/// p = 2²⁵⁵ − 19.
const P: Fe = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];

/// Whether `a ≥ b`.
fn at_least(a: &Fe, b: &Fe) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

/// `a − b` for `a ≥ b`.
fn sub_raw(a: &Fe, b: &Fe) -> Fe {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(u64::from(borrow));
        out[i] = d;
        borrow = b1 || b2;
    }
    out
}

/// Adds `carry · 2²⁵⁶ ≡ 38 · carry` back into `limbs`, then reduces below p.
fn fold(mut limbs: Fe, mut carry: u128) -> Fe {
    while carry > 0 {
        let mut add = carry * 38;
        for limb in &mut limbs {
            let v = u128::from(*limb) + add;
            *limb = v as u64;
            add = v >> 64;
        }
        carry = add;
    }
    while at_least(&limbs, &P) {
        limbs = sub_raw(&limbs, &P);
    }
    limbs
}

fn add(a: &Fe, b: &Fe) -> Fe {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let v = u128::from(a[i]) + u128::from(b[i]) + carry;
        out[i] = v as u64;
        carry = v >> 64;
    }
    fold(out, carry)
}

fn sub(a: &Fe, b: &Fe) -> Fe {
    // a + (p − b); b < p, so p − b does not underflow.
    add(a, &sub_raw(&P, b))
}

fn mul(a: &Fe, b: &Fe) -> Fe {
    let mut wide = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let v = u128::from(wide[i + j]) + u128::from(a[i]) * u128::from(b[j]) + carry;
            wide[i + j] = v as u64;
            carry = v >> 64;
        }
        wide[i + 4] = carry as u64;
    }
    // wide = low + high · 2²⁵⁶ ≡ low + 38 · high.
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let v = u128::from(wide[i]) + u128::from(wide[i + 4]) * 38 + carry;
        out[i] = v as u64;
        carry = v >> 64;
    }
    fold(out, carry)
}

/// `a^(p−2)`, the inverse of a non-zero `a` (Fermat).
fn invert(a: &Fe) -> Fe {
    let exponent = sub_raw(&P, &[2, 0, 0, 0]);
    let mut result: Fe = [1, 0, 0, 0];
    for bit in (0..255).rev() {
        result = mul(&result, &result);
        if (exponent[bit / 64] >> (bit % 64)) & 1 == 1 {
            result = mul(&result, a);
        }
    }
    result
}

/// The Montgomery `u` (32 bytes, little-endian) of an Ed25519 public key.
pub fn ed25519_to_x25519(public: &[u8; 32]) -> [u8; 32] {
    let mut y: Fe = [0; 4];
    for (i, limb) in y.iter_mut().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&public[i * 8..i * 8 + 8]);
        *limb = u64::from_le_bytes(bytes);
    }
    // The top bit is the sign of x, which the map does not use.
    y[3] &= 0x7fff_ffff_ffff_ffff;
    assert!(!at_least(&y, &P), "non-canonical Ed25519 y coordinate");
    let one: Fe = [1, 0, 0, 0];
    let u = mul(&add(&one, &y), &invert(&sub(&one, &y)));
    let mut out = [0u8; 32];
    for (i, limb) in u.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// BIP-173's checksum polynomial.
fn polymod(values: &[u8]) -> u32 {
    const GENERATOR: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut checksum = 1u32;
    for value in values {
        let top = checksum >> 25;
        checksum = ((checksum & 0x1ff_ffff) << 5) ^ u32::from(*value);
        for (i, generator) in GENERATOR.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                checksum ^= generator;
            }
        }
    }
    checksum
}

/// Bech32 of `data` with the lower-case `hrp`.
pub fn bech32(hrp: &str, data: &[u8]) -> String {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    // 8-bit bytes to 5-bit groups, zero-padded.
    let mut groups = Vec::new();
    let (mut accumulator, mut bits) = (0u32, 0u32);
    for byte in data {
        accumulator = (accumulator << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            groups.push(((accumulator >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        groups.push(((accumulator << (5 - bits)) & 31) as u8);
    }
    let mut values: Vec<u8> = hrp.bytes().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|c| c & 31));
    values.extend(&groups);
    values.extend([0u8; 6]);
    let checksum = polymod(&values) ^ 1;
    let mut out = format!("{hrp}1");
    for value in groups
        .iter()
        .copied()
        .chain((0..6).map(|i| ((checksum >> (5 * (5 - i))) & 31) as u8))
    {
        out.push(char::from(CHARSET[usize::from(value)]));
    }
    out
}

/// Reads an SSH wire-format string (u32 length, bytes) from the front of `input`.
fn wire_string<'a>(input: &mut &'a [u8]) -> &'a [u8] {
    assert!(input.len() >= 4, "truncated SSH string length");
    let length = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
    assert!(input.len() >= 4 + length, "truncated SSH string");
    let value = &input[4..4 + length];
    *input = &input[4 + length..];
    value
}

/// The 32-byte key of an `ssh-ed25519` public key blob.
fn ed25519_of_blob(mut blob: &[u8]) -> [u8; 32] {
    assert_eq!(
        wire_string(&mut blob),
        b"ssh-ed25519",
        "not an ssh-ed25519 key"
    );
    wire_string(&mut blob)
        .try_into()
        .expect("an Ed25519 public key has 32 bytes")
}

/// The age recipient of an `ssh-ed25519 AAAA… [comment]` line.
pub fn recipient(public_line: &str) -> String {
    let mut fields = public_line.split_whitespace();
    assert_eq!(fields.next(), Some("ssh-ed25519"), "{public_line:?}");
    let blob = base64::engine::general_purpose::STANDARD
        .decode(fields.next().expect("a key blob"))
        .expect("base64 key blob");
    bech32("age", &ed25519_to_x25519(&ed25519_of_blob(&blob)))
}

/// The `AGE-SECRET-KEY-1…` identity of an unencrypted OpenSSH Ed25519 private key file.
pub fn identity(private_key_file: &str) -> String {
    let body: String = private_key_file
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64 OpenSSH key");
    let mut rest = bytes
        .strip_prefix(b"openssh-key-v1\0")
        .expect("an openssh-key-v1 file");
    assert_eq!(wire_string(&mut rest), b"none", "an encrypted key");
    wire_string(&mut rest); // kdf name
    wire_string(&mut rest); // kdf options
    assert_eq!(&rest[..4], &[0, 0, 0, 1], "one key");
    rest = &rest[4..];
    let public = ed25519_of_blob(wire_string(&mut rest));
    let mut private = wire_string(&mut rest);
    assert_eq!(private[..4], private[4..8], "check integers differ");
    private = &private[8..];
    assert_eq!(wire_string(&mut private), b"ssh-ed25519");
    assert_eq!(wire_string(&mut private), public);
    // seed ‖ public key.
    let pair = wire_string(&mut private);
    assert_eq!(pair.len(), 64, "an Ed25519 private key has 64 bytes");
    assert_eq!(&pair[32..], public);
    let scalar = &Sha512::digest(&pair[..32])[..32];
    bech32("age-secret-key-", scalar).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bech32_matches_bip173_valid_strings() {
        // BIP-173's test vectors with empty data.
        assert_eq!(bech32("a", &[]), "a12uel5l");
        assert_eq!(
            bech32("abcdef", &[]).len(),
            "abcdef1".len() + 6,
            "six checksum characters"
        );
    }

    #[test]
    fn field_inverse_is_an_inverse() {
        let a: Fe = [12345, 678, 9, 0x1234];
        assert_eq!(mul(&a, &invert(&a)), [1, 0, 0, 0]);
        // p − 1 squared is 1.
        let minus_one = sub_raw(&P, &[1, 0, 0, 0]);
        assert_eq!(mul(&minus_one, &minus_one), [1, 0, 0, 0]);
    }

    #[test]
    fn the_ed25519_base_point_maps_to_u_9() {
        // RFC 7748 §4.1: the Edwards base point (y = 4/5) corresponds to u = 9.
        let mut base = [0x66u8; 32];
        base[0] = 0x58;
        let mut nine = [0u8; 32];
        nine[0] = 9;
        assert_eq!(ed25519_to_x25519(&base), nine);
    }
}
