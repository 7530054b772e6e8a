//! X25519 (RFC 7748) for age's stanzas, classic and post-quantum: the shared secret of a
//! scalar and a point, and the public key of a scalar.
//!
//! The result is RFC 7748's (scalar clamped, the point's top bit ignored, non-canonical values
//! reduced), but where the point lies on Curve25519 it is computed on the birationally
//! equivalent Edwards curve, whose variable-base multiplication `curve25519-dalek` runs with
//! AVX2 when the processor has it: about a third less time than its Montgomery ladder, and
//! X25519 is most of what a fleet run's new data keys cost. A point on the twist has no Edwards
//! form and takes the ladder. Both are constant time in the scalar; which one runs depends only
//! on the point, which is public. A clamped scalar is a multiple of 8, so a point's small-order
//! part vanishes on either path: the results agree for every input (the tests compare them).
//!
//! Like Go's `crypto/ecdh`, an all-zero shared secret (a low-order point) is refused: the key
//! exchange would contribute nothing.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// An X25519 scalar or point.
pub(crate) const KEY_BYTES: usize = 32;

/// The X25519 shared secret was all zero: the point has low order.
#[derive(Debug)]
pub(crate) struct NonContributory;

/// A public X25519 point (the u-coordinate as sent), with its Edwards form when it has one,
/// worked out once per point.
#[derive(Clone)]
pub(crate) struct Point {
    bytes: [u8; KEY_BYTES],
    edwards: Option<EdwardsPoint>,
}

impl Point {
    /// The point `bytes` (any 32 bytes, as X25519 allows).
    pub(crate) fn new(bytes: [u8; KEY_BYTES]) -> Self {
        // Either sign: the two points share their u-coordinate, and so do their multiples.
        let edwards = MontgomeryPoint(bytes).to_edwards(0);
        Self { bytes, edwards }
    }

    /// The bytes as given.
    pub(crate) fn as_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.bytes
    }
}

/// X25519 of `scalar` (clamped) and `point`, refusing the all-zero result.
pub(crate) fn shared_secret(
    scalar: &[u8; KEY_BYTES],
    point: &Point,
) -> Result<Zeroizing<[u8; KEY_BYTES]>, NonContributory> {
    let shared = Zeroizing::new(match &point.edwards {
        Some(edwards) => edwards.mul_clamped(*scalar).to_montgomery().to_bytes(),
        None => MontgomeryPoint(point.bytes).mul_clamped(*scalar).to_bytes(),
    });
    if bool::from(shared.ct_eq(&[0u8; KEY_BYTES])) {
        return Err(NonContributory);
    }
    Ok(shared)
}

/// The public key of `scalar` (clamped): X25519 of the scalar and the base point.
pub(crate) fn public_key(scalar: &[u8; KEY_BYTES]) -> [u8; KEY_BYTES] {
    EdwardsPoint::mul_base_clamped(*scalar)
        .to_montgomery()
        .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7748's ladder, the reference.
    fn ladder(scalar: &[u8; KEY_BYTES], point: &[u8; KEY_BYTES]) -> [u8; KEY_BYTES] {
        MontgomeryPoint(*point).mul_clamped(*scalar).to_bytes()
    }

    fn random() -> [u8; KEY_BYTES] {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::getrandom(&mut bytes).unwrap();
        bytes
    }

    fn from_hex(text: &str) -> [u8; KEY_BYTES] {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    /// The u-coordinates of small order (0, 1, the two of order 8, p − 1) and their
    /// non-canonical encodings (+ p, and with the top bit set), from RFC 7748's errata and
    /// the Curve25519 low-order lists.
    fn low_order_points() -> Vec<[u8; KEY_BYTES]> {
        let canonical = [
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0100000000000000000000000000000000000000000000000000000000000000",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ];
        let mut points: Vec<[u8; KEY_BYTES]> = canonical.iter().map(|hex| from_hex(hex)).collect();
        for index in 0..points.len() {
            let mut high = points[index];
            high[31] |= 0x80;
            points.push(high);
        }
        points
    }

    #[test]
    fn agrees_with_the_ladder_on_curve_twist_and_odd_encodings() {
        let mut points: Vec<[u8; KEY_BYTES]> = (0..200).map(|_| public_key(&random())).collect();
        // Random bytes: about half lie on the twist; some have the top bit set.
        points.extend((0..400).map(|_| random()));
        points.extend(low_order_points());
        // u = 9 (the base point), u = 2^255 − 1 and friends.
        points.push(from_hex(
            "0900000000000000000000000000000000000000000000000000000000000000",
        ));
        points.push([0xff; KEY_BYTES]);
        let mut on_curve = 0;
        for point in &points {
            let parsed = Point::new(*point);
            on_curve += usize::from(parsed.edwards.is_some());
            for scalar in [random(), random(), [0u8; KEY_BYTES], [0xff; KEY_BYTES]] {
                let expected = ladder(&scalar, point);
                match shared_secret(&scalar, &parsed) {
                    Ok(shared) => assert_eq!(*shared, expected, "point {point:02x?}"),
                    Err(NonContributory) => assert_eq!(expected, [0u8; KEY_BYTES]),
                }
            }
        }
        // Both paths were taken.
        assert!(
            on_curve > 250 && on_curve < points.len() - 100,
            "{on_curve}"
        );
    }

    #[test]
    fn rfc7748_vectors() {
        // RFC 7748 §5.2, the two single-step vectors.
        let cases = [
            (
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            ),
            (
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
            ),
        ];
        for (scalar, point, expected) in cases {
            let shared = shared_secret(&from_hex(scalar), &Point::new(from_hex(point))).unwrap();
            assert_eq!(*shared, from_hex(expected));
        }
        // §6.1: Alice's and Bob's public keys and their shared secret.
        let alice = from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob = from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        assert_eq!(
            public_key(&alice),
            from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            public_key(&bob),
            from_hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        );
        let shared = from_hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(
            *shared_secret(&alice, &Point::new(public_key(&bob))).unwrap(),
            shared
        );
        assert_eq!(
            *shared_secret(&bob, &Point::new(public_key(&alice))).unwrap(),
            shared
        );
    }

    #[test]
    fn low_order_points_are_refused() {
        for point in low_order_points() {
            assert!(
                shared_secret(&random(), &Point::new(point)).is_err(),
                "{point:02x?}"
            );
        }
    }
}
