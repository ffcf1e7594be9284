//! End to end through the layers: encode, encrypt (secret or public key),
//! decrypt, decode, against the f64 inputs, with the precision in bits.

use blindtuner_ckks::{Complex64, Encoder, EncoderScratch};
use blindtuner_ring::{Form, RnsPoly};
use blindtuner_rlwe::{
    Ciphertext, DEFAULT_ERROR_STD, KeyGenerator, Moduli, Parameters, ParametersLiteral, SecretDistribution, decrypt,
};
use rand::{Rng, SeedableRng};

fn precision_bits(a: &[Complex64], b: &[Complex64]) -> f64 {
    -a.iter().zip(b).map(|(x, y)| (x - y).norm()).fold(0.0, f64::max).log2()
}

#[test]
fn fresh_ciphertexts_decrypt_to_their_slots() {
    // A 128-bit set at N = 2^13 (218 bits allowed): 45 + 3 x 40 + 50 = 215.
    let params = Parameters::new(&ParametersLiteral {
        log_n: 13,
        q: Moduli::Bits(vec![45, 40, 40, 40]),
        p: Moduli::Bits(vec![50]),
        secret: SecretDistribution::Ternary,
        error_std: DEFAULT_ERROR_STD,
        digits: None,
    })
    .unwrap();
    let scale = 2f64.powi(40);
    let mut kg = KeyGenerator::new(&params).unwrap();
    let sk = kg.secret_key();
    let pk = kg.public_key(&sk).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::from_os_rng();

    for slots in [4096, 512] {
        let enc = Encoder::new(params.ring_q().clone(), slots).unwrap();
        let mut scratch = EncoderScratch::default();
        let z: Vec<Complex64> = (0..slots)
            .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
            .collect();
        for (use_pk, limbs) in [(false, 4), (true, 4), (true, 2)] {
            let mut pt = RnsPoly::zero(params.ring_q(), limbs, Form::Evaluation);
            enc.encode_poly(&z, scale, &mut pt, &mut scratch).unwrap();
            let mut ct = Ciphertext::zero(&params, limbs);
            if use_pk {
                kg.encrypt_zero_pk(&pk, &mut ct).unwrap();
            } else {
                kg.encrypt_zero_sk(&sk, &mut ct).unwrap();
            }
            params.ring_q().add_assign(&mut ct.c0, &pt);
            let mut out = RnsPoly::zero(params.ring_q(), limbs, Form::Evaluation);
            decrypt(&params, &sk, &ct, &mut out).unwrap();
            let mut back = vec![Complex64::default(); slots];
            enc.decode_poly(&out, scale, &mut back, &mut scratch);
            // Fresh noise is at most a few thousand in each coefficient, about
            // 2^12 sqrt(N) / 2^40 in each slot: at least 20 bits here.
            let bits = precision_bits(&z, &back);
            assert!(bits > 20.0, "{slots} slots, pk {use_pk}, {limbs} limbs: {bits:.1} bits");
        }
    }
}
