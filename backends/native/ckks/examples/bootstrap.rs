//! Bootstraps random full-slot vectors and prints one JSON object: key generation time, key
//! memory, bootstrapping time (median over the repetitions) and precision (mean and worst
//! slot), levels left.
//!
//! ```text
//! cargo run --release -p blindtuner-ckks --example bootstrap -- [toy-n12|n16] [repetitions] [threads]
//! ```
//!
//! `n16` is the 128-bit N = 2^16 preset: about 10 GB of keys and encoded transforms.

use std::time::Instant;

use blindtuner_ckks::{
    BootstrapParameters, BootstrapScratch, Bootstrapper, Ciphertext, Complex64, Decryptor, Encoder, EncoderScratch,
    Encryptor, Plaintext, Precision, presets,
};
use blindtuner_rlwe::KeyGenerator;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let preset = args.first().map_or("toy-n12", String::as_str);
    let reps: usize = args.get(1).map_or(Ok(3), |r| r.parse())?;
    let threads: usize = args.get(2).map_or(Ok(1), |t| t.parse())?;
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
    let bp = match preset {
        "toy-n12" => BootstrapParameters::new_toy(&presets::bootstrap_toy_n12())?,
        "n16" => BootstrapParameters::new(&presets::bootstrap_n16())?,
        other => return Err(format!("unknown preset {other}; toy-n12 or n16").into()),
    };
    let params = bp.params().clone();
    eprintln!("{params}");
    let mut kg = KeyGenerator::new(params.rlwe())?;
    let sk = kg.secret_key();
    let start = Instant::now();
    let keys = bp.generate_keys(&mut kg, &sk, &[])?;
    let keygen_s = start.elapsed().as_secs_f64();
    let (key_bytes, galois_keys) = (keys.size_bytes(), keys.evaluation.galois_elements().count());
    let start = Instant::now();
    let boot = Bootstrapper::new(&bp, keys)?;
    let encode_s = start.elapsed().as_secs_f64();
    eprintln!(
        "keys {keygen_s:.1} s, {} MB; transforms encoded in {encode_s:.1} s",
        key_bytes >> 20
    );
    let slots = bp.slots();
    let encoder = Encoder::new(params.rlwe().ring_q().clone(), slots)?;
    let mut es = EncoderScratch::default();
    let mut encryptor = Encryptor::with_public_key(&params, kg.public_key(&sk)?)?;
    let decryptor = Decryptor::new(&params, sk);
    let mut scratch = BootstrapScratch::new(&bp);
    let mut rng = ChaCha20Rng::from_os_rng();
    let (mut times, mut mean_bits, mut min_bits) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let values: Vec<Complex64> = (0..slots)
            .map(|_| Complex64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
            .collect();
        let mut pt = Plaintext::new(&params, 0, params.scale_at(0), slots);
        encoder.encode(&values, params.scale_at(0), &mut pt, &mut es)?;
        let mut ct = Ciphertext::new(&params, 0, slots);
        encryptor.encrypt(&pt, &mut ct)?;
        let mut out = Ciphertext::new(&params, 0, slots);
        let start = Instant::now();
        boot.bootstrap(&ct, &mut out, &mut scratch)?;
        times.push(start.elapsed().as_secs_f64());
        let mut got = vec![Complex64::default(); slots];
        encoder.decode(&decryptor.decrypt_new(&out)?, &mut got, &mut es)?;
        let p = Precision::of(&values, &got);
        eprintln!("bootstrap {:.2} s: {p:?}", times.last().unwrap());
        mean_bits.push(p.mean_bits);
        min_bits.push(p.min_bits);
    }
    times.sort_by(f64::total_cmp);
    let mean = mean_bits.iter().sum::<f64>() / reps as f64;
    let worst = min_bits.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{{\"preset\":\"{preset}\",\"log_n\":{},\"slots\":{slots},\"threads\":{threads},\"levels_left\":{},\"bootstrap_median_s\":{:.3},\"precision_mean_bits\":{mean:.2},\"precision_worst_slot_bits\":{worst:.2},\"keygen_s\":{keygen_s:.2},\"galois_keys\":{galois_keys},\"key_bytes\":{key_bytes},\"transform_encoding_s\":{encode_s:.2}}}",
        params.rlwe().log_n(),
        bp.work_level(),
        times[times.len() / 2],
    );
    Ok(())
}
