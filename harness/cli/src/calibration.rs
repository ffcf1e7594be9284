//! The calibration kernel: a fixed, deterministic workload of what the native engine spends its
//! time on, timed once by every command that reports times, so that `blindtuner regress` can
//! divide a slower machine out of a comparison.

use anyhow::Result;
use blindtuner_reports::Machine;
use blindtuner_ring::{Form, RnsBasis, RnsPoly, Sampler, ntt_primes};
use std::time::Instant;

/// The machine this process runs on, with [`Machine::calibration_s`] measured: the seconds of one
/// round of two forward NTTs, a pointwise modular product and an inverse NTT at N = 2^14 over
/// four 50-bit primes, on one thread (the engine's kernels, which use AVX-512 IFMA where the CPU
/// has it, as the engine does). Each of 5 timed repetitions (after one untimed warm-up) runs whole
/// rounds for at least 20 ms and yields their mean; the median of the 5 is the calibration. The
/// work per round is fixed; the rounds per repetition adapt, so that the timer's resolution
/// never dominates (a round takes about 0.4 ms in a release build on a 2-core AMD EPYC with
/// AVX-512 IFMA, about 8 ms in a debug build) and the kernel costs about 0.12 s in any build.
pub fn machine() -> Result<Machine> {
    const LOG_N: u32 = 14;
    const LIMBS: usize = 4;
    const MIN_REPETITION_S: f64 = 0.02;
    const REPS: usize = 5;
    let n = 1 << LOG_N;
    let basis = RnsBasis::new(n, &ntt_primes(50, n, LIMBS, &[])?)?;
    let mut sampler = Sampler::from_seed([7; 32]);
    let mut inputs = [(); 2].map(|_| RnsPoly::zero(&basis, LIMBS, Form::Coefficient));
    for a in &mut inputs {
        sampler.uniform(&basis, a);
    }
    let (mut a, mut b, mut c) = (inputs[0].clone(), inputs[1].clone(), inputs[0].clone());
    // One thread: the kernel measures the speed of a core, not how many the machine has.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let mut times: Vec<f64> = pool.install(|| {
        (0..=REPS)
            .map(|_| {
                let t = Instant::now();
                let mut rounds = 0;
                while rounds == 0 || t.elapsed().as_secs_f64() < MIN_REPETITION_S {
                    a.copy_from(&inputs[0]);
                    b.copy_from(&inputs[1]);
                    basis.ntt(&mut a);
                    basis.ntt(&mut b);
                    basis.mul(&a, &b, &mut c);
                    basis.intt(&mut c);
                    rounds += 1;
                }
                std::hint::black_box(&c);
                t.elapsed().as_secs_f64() / rounds as f64
            })
            .collect()
    });
    times.remove(0);
    Ok(Machine {
        calibration_s: Some(blindtuner_reports::records::median(times)),
        ..Machine::current()
    })
}
