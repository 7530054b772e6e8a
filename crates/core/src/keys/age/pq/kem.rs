//! MLKEM768-X25519, the hybrid KEM of age's post-quantum recipients (X-Wing; HPKE KEM id
//! `0x647a`), composed from `ml-kem` and `curve25519-dalek`.
//!
//! As draft-ietf-hpke-pq and Go's `filippo.io/hpke` define it: the 32-byte private seed expands
//! with SHAKE256 into 96 bytes, the ML-KEM-768 seed `d ‖ z` (FIPS 203 `KeyGen_internal`) and the
//! X25519 scalar; the public key is the ML-KEM encapsulation key ‖ the X25519 point (1216
//! bytes), a ciphertext the ML-KEM ciphertext ‖ the ephemeral X25519 point (1120 bytes), and the
//! shared secret `SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\.//^\")`.
//!
//! Like Go (whose `crypto/ecdh` refuses a low-order point), both directions fail when the
//! X25519 shared secret is all zero: the share would then contribute nothing.
//!
//! Why not the `x-wing` crate: its 0.1 releases need `kem` 0.3.0, and the `ml-kem` 0.2 that the
//! `age` crate depends on pins `kem` 0.3.0-pre.0; Cargo allows one of the two in a build.

use ml_kem::kem::Decapsulate;
use ml_kem::{B32, EncapsulateDeterministic, EncodedSizeUser, KemCore, MlKem768};
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{Digest, Sha3_256, Shake256};
use zeroize::{Zeroize, Zeroizing};

use crate::keys::age::dh::{self, NonContributory, Point};

/// A private key: the seed everything else expands from.
pub(super) const SEED_BYTES: usize = 32;
/// A public key: ML-KEM-768 encapsulation key ‖ X25519 point.
pub(super) const PUBLIC_KEY_BYTES: usize = MLKEM_PUBLIC_KEY_BYTES + X25519_BYTES;
/// A ciphertext (age's `enc`): ML-KEM-768 ciphertext ‖ ephemeral X25519 point.
pub(super) const CIPHERTEXT_BYTES: usize = MLKEM_CIPHERTEXT_BYTES + X25519_BYTES;
/// The randomness one encapsulation consumes: the ML-KEM message ‖ the ephemeral X25519 scalar.
pub(super) const RANDOMNESS_BYTES: usize = 64;

const MLKEM_PUBLIC_KEY_BYTES: usize = 1184;
const MLKEM_CIPHERTEXT_BYTES: usize = 1088;
/// The ML-KEM-768 public polynomial vector `t`: 3 × 256 coefficients of 12 bits.
const MLKEM_T_BYTES: usize = 1152;
/// ML-KEM's modulus q.
const MLKEM_Q: u16 = 3329;
const X25519_BYTES: usize = 32;
const LABEL: &[u8; 6] = br"\.//^\";

type MlKemEncapsulationKey = <MlKem768 as KemCore>::EncapsulationKey;
type MlKemDecapsulationKey = <MlKem768 as KemCore>::DecapsulationKey;

/// An encapsulation's result: the ciphertext and the shared secret.
pub(super) type Encapsulated = (Box<[u8; CIPHERTEXT_BYTES]>, Zeroizing<[u8; 32]>);

/// A public (encapsulation) key.
#[derive(Clone)]
pub(super) struct PublicKey {
    mlkem: MlKemEncapsulationKey,
    bytes: Box<[u8; PUBLIC_KEY_BYTES]>,
}

impl PublicKey {
    /// Reads a 1216-byte public key as Go does: the ML-KEM part must pass FIPS 203's modulus
    /// check (§7.2: every coefficient of `t` below q), the X25519 point may be any 32 bytes.
    pub(super) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; PUBLIC_KEY_BYTES] = bytes.try_into().ok()?;
        let t = &bytes[..MLKEM_T_BYTES];
        let canonical = t.chunks_exact(3).all(|b| {
            let low = u16::from(b[0]) | (u16::from(b[1] & 0x0f) << 8);
            let high = u16::from(b[1] >> 4) | (u16::from(b[2]) << 4);
            low < MLKEM_Q && high < MLKEM_Q
        });
        if !canonical {
            return None;
        }
        let encoded = bytes[..MLKEM_PUBLIC_KEY_BYTES].try_into().ok()?;
        Some(Self {
            mlkem: MlKemEncapsulationKey::from_bytes(encoded),
            bytes: Box::new(*bytes),
        })
    }

    /// The 1216 bytes.
    pub(super) fn as_bytes(&self) -> &[u8; PUBLIC_KEY_BYTES] {
        &self.bytes
    }

    fn x25519(&self) -> [u8; X25519_BYTES] {
        let mut point = [0u8; X25519_BYTES];
        point.copy_from_slice(&self.bytes[MLKEM_PUBLIC_KEY_BYTES..]);
        point
    }

    /// Encapsulates with `randomness` (uniformly random, used once): the ciphertext and the
    /// shared secret.
    pub(super) fn encapsulate(
        &self,
        randomness: &[u8; RANDOMNESS_BYTES],
    ) -> Result<Encapsulated, NonContributory> {
        let (message, ephemeral) = randomness.split_at(32);
        let message = <&B32>::try_from(message).expect("32 bytes");
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(ephemeral);

        let pk_x = self.x25519();
        let ss_x = dh::shared_secret(&scalar, &Point::new(pk_x))?;
        let ct_x = dh::public_key(&scalar);
        let (ct_m, ss_m) = self
            .mlkem
            .encapsulate_deterministic(message)
            .expect("ML-KEM encapsulation cannot fail");
        let ss_m = wiped(ss_m);

        let mut ciphertext = Box::new([0u8; CIPHERTEXT_BYTES]);
        ciphertext[..MLKEM_CIPHERTEXT_BYTES].copy_from_slice(&ct_m);
        ciphertext[MLKEM_CIPHERTEXT_BYTES..].copy_from_slice(&ct_x);
        Ok((ciphertext, combine(&ss_m, &ss_x, &ct_x, &pk_x)))
    }
}

/// A private (decapsulation) key, expanded from its seed once.
pub(super) struct PrivateKey {
    seed: Zeroizing<[u8; SEED_BYTES]>,
    mlkem: MlKemDecapsulationKey,
    x25519: Zeroizing<[u8; 32]>,
    public: PublicKey,
}

impl PrivateKey {
    /// Expands `seed` with SHAKE256 into both private keys and derives the public key.
    pub(super) fn from_seed(seed: &[u8; SEED_BYTES]) -> Self {
        let mut expanded = Zeroizing::new([0u8; 96]);
        let mut shake = Shake256::default();
        shake.update(seed);
        shake.finalize_xof().read(expanded.as_mut());
        let d = <&B32>::try_from(&expanded[..32]).expect("32 bytes");
        let z = <&B32>::try_from(&expanded[32..64]).expect("32 bytes");
        let mut x25519 = Zeroizing::new([0u8; 32]);
        x25519.copy_from_slice(&expanded[64..]);

        let (mlkem, mlkem_public) = MlKem768::generate_deterministic(d, z);
        let mut bytes = Box::new([0u8; PUBLIC_KEY_BYTES]);
        bytes[..MLKEM_PUBLIC_KEY_BYTES].copy_from_slice(&mlkem_public.as_bytes());
        bytes[MLKEM_PUBLIC_KEY_BYTES..].copy_from_slice(&dh::public_key(&x25519));
        Self {
            seed: Zeroizing::new(*seed),
            mlkem,
            x25519,
            public: PublicKey {
                mlkem: mlkem_public,
                bytes,
            },
        }
    }

    /// The seed (secret).
    pub(super) fn seed(&self) -> &[u8; SEED_BYTES] {
        &self.seed
    }

    /// The matching public key.
    pub(super) fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Decapsulates `ciphertext`. ML-KEM never fails (implicit rejection gives a random-looking
    /// secret for a bad ciphertext); a low-order ephemeral X25519 point does.
    pub(super) fn decapsulate(
        &self,
        ciphertext: &[u8; CIPHERTEXT_BYTES],
    ) -> Result<Zeroizing<[u8; 32]>, NonContributory> {
        let (ct_m, ct_x) = ciphertext.split_at(MLKEM_CIPHERTEXT_BYTES);
        let mut point = [0u8; X25519_BYTES];
        point.copy_from_slice(ct_x);
        let ss_x = dh::shared_secret(&self.x25519, &Point::new(point))?;
        let ct_m = ct_m.try_into().expect("1088 bytes");
        let ss_m = wiped(
            self.mlkem
                .decapsulate(ct_m)
                .expect("ML-KEM decapsulation cannot fail"),
        );
        Ok(combine(&ss_m, &ss_x, &point, &self.public.x25519()))
    }
}

/// The X-Wing combiner.
fn combine(
    ss_m: &[u8; 32],
    ss_x: &[u8; 32],
    ct_x: &[u8; 32],
    pk_x: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut hash = Sha3_256::new();
    for part in [&ss_m[..], ss_x, ct_x, pk_x, LABEL] {
        Digest::update(&mut hash, part);
    }
    Zeroizing::new(hash.finalize().into())
}

/// Moves an ML-KEM shared secret into a wiped array, wiping the original.
fn wiped(mut shared: ml_kem::SharedKey<MlKem768>) -> Zeroizing<[u8; 32]> {
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&shared);
    shared.as_mut_slice().zeroize();
    secret
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::age::pq::hpke_vector::field;

    #[test]
    fn matches_the_hpke_pq_vector() {
        let seed: [u8; SEED_BYTES] = field("skRm").try_into().unwrap();
        let private = PrivateKey::from_seed(&seed);
        assert_eq!(private.public().as_bytes().as_slice(), field("pkRm"));
        let public = PublicKey::from_bytes(&field("pkRm")).unwrap();
        let randomness: [u8; RANDOMNESS_BYTES] = field("ikmE").try_into().unwrap();
        let (enc, shared) = public.encapsulate(&randomness).unwrap();
        assert_eq!(enc.as_slice(), field("enc"));
        assert_eq!(shared.as_slice(), field("shared_secret"));
        let decapsulated = private.decapsulate(&enc).unwrap();
        assert_eq!(decapsulated.as_slice(), field("shared_secret"));
    }

    #[test]
    fn low_order_ephemeral_points_are_refused() {
        let private = PrivateKey::from_seed(&[3u8; SEED_BYTES]);
        let mut ciphertext = [0u8; CIPHERTEXT_BYTES];
        // u = 0 is the point of order 2.
        assert!(private.decapsulate(&ciphertext).is_err());
        ciphertext[MLKEM_CIPHERTEXT_BYTES] = 9;
        assert!(private.decapsulate(&ciphertext).is_ok());
    }
}
