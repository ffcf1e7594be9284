//! Level management and the training loop: refreshing circuits compute what unrefreshed ones
//! do, on plain with a small level budget and on native with bootstrapping and client refreshes.

use std::sync::Mutex;

use blindtuner_backend::Backend;
use blindtuner_backend::plain::PlainBackend;
use blindtuner_encrypted::counting::{CountingCloud, OpCounts};
use blindtuner_encrypted::packing::{BlockShape, PackedScores};
use blindtuner_encrypted::refresh::{Bootstrap, ClientRefresh, Levels, Refresh, RefreshStats};
use blindtuner_encrypted::softmax::Softmax;
use blindtuner_encrypted::training::{EncryptedData, Method, TrainingEvent, TrainingPlan, read_loss, train};
use blindtuner_features::{Features, Matrix};
use blindtuner_native::NativeBackend;
use blindtuner_train::{EarlyStopping, SoftmaxRegression, Verdict};

use crate::common::{max_abs_diff, plain, random_matrix};
use crate::step::blobs;

#[test]
fn a_refreshing_softmax_computes_the_same_probabilities() {
    let (rows, classes) = (40, 10);
    let shape = BlockShape::new(64, 32).unwrap();
    let circuit = Softmax::new(classes, shape).unwrap();
    let x = random_matrix(rows, classes, 100.0, 3);
    let (mut client, cloud) = plain(shape.slots(), circuit.depth(), &circuit.rotations());
    let want = circuit
        .apply(
            &cloud,
            &Levels::fixed(),
            &PackedScores::encrypt(&mut client, &x, shape).unwrap(),
        )
        .unwrap()
        .decrypt(&client)
        .unwrap();

    // HETAL's 9 levels between bootstraps.
    let (mut client, cloud) = plain(shape.slots(), 9, &circuit.rotations());
    let cloud = CountingCloud::new(cloud);
    let bootstrap = Bootstrap::new(&cloud).unwrap();
    let packed = PackedScores::encrypt(&mut client, &x, shape).unwrap();
    assert!(matches!(
        circuit.apply(&cloud, &Levels::fixed(), &packed),
        Err(blindtuner_encrypted::EncryptedError::Levels { .. })
    ));
    let got = circuit
        .apply(&cloud, &Levels::refreshing(&bootstrap), &packed)
        .unwrap()
        .decrypt(&client)
        .unwrap();
    assert!(max_abs_diff(&got, &want) < 1e-12);
    let counts = cloud.counts();
    eprintln!(
        "softmax of {classes} classes, depth {} in 9 levels: {counts}",
        circuit.depth()
    );
    assert_eq!(counts.bootstraps, bootstrap.stats().refreshes);
    // A refresh holds each round of the max whole, and the exp and the inverse (9 levels each):
    // the fewest refreshes the depth allows past the fresh logits' 9 levels.
    assert_eq!(
        counts.bootstraps as usize,
        (circuit.depth() - 9).div_ceil(9),
        "{counts}"
    );
}

/// How a test run refreshes.
#[derive(Clone, Copy)]
enum Refreshing {
    Bootstrap,
    Client,
}

/// What a test run returns: the weights, the decrypted losses, what it cost.
struct Trained {
    weights: Matrix,
    losses: Vec<f64>,
    counts: OpCounts,
    refresh: RefreshStats,
}

/// Trains `data` (validated on itself) on `backend` with `refreshing`, in process.
fn train_on<B>(backend: &B, refreshing: Refreshing, data: &Features, plan: &TrainingPlan) -> Trained
where
    B: Backend + Sync,
    B::Client: Send,
{
    let (client, cloud) = backend.keygen(&plan.rotations().unwrap()).unwrap();
    let cloud = CountingCloud::new(cloud);
    let client = Mutex::new(client);
    let upload = EncryptedData::encrypt(&mut *client.lock().unwrap(), plan, data, data, 7).unwrap();
    let (bootstrap, through_client);
    let refresh: &dyn Refresh<B::Ciphertext> = match refreshing {
        Refreshing::Bootstrap => {
            bootstrap = Bootstrap::new(&cloud).unwrap();
            &bootstrap
        }
        Refreshing::Client => {
            through_client = ClientRefresh::new(backend, &client);
            &through_client
        }
    };
    let mut stopping = EarlyStopping::new(plan.patience);
    let mut losses = Vec::new();
    let run = train(
        &cloud,
        &plan.levels(refresh),
        plan,
        &upload,
        &mut |epoch, loss| {
            let loss = read_loss(&*client.lock().unwrap(), loss)?;
            losses.push(loss);
            Ok(stopping.observe(epoch, loss))
        },
        &mut |_| {},
    )
    .unwrap();
    let weights = run.model.decrypt(&*client.lock().unwrap()).unwrap();
    Trained {
        weights,
        losses,
        counts: run.stats.counts,
        refresh: run.stats.refresh,
    }
}

/// [`train_on`] on plain with `levels` levels per bootstrap.
fn train_on_plain(data: &Features, plan: &TrainingPlan, levels: usize) -> Trained {
    let backend = PlainBackend::new(plan.shape.slots(), levels).unwrap();
    let run = train_on(&backend, Refreshing::Bootstrap, data, plan);
    assert_eq!(run.refresh.refreshes, run.counts.bootstraps);
    run
}

#[test]
fn training_with_refreshes_matches_training_without() {
    let data = blobs(40, 2);
    let plan = TrainingPlan::new(3, 3, 16, 256, 0.5, 4, Some(10), 8.0).unwrap();
    let deep = train_on_plain(&data, &plan, 100_000);
    assert_eq!(deep.counts.bootstraps, 0);
    let run = train_on_plain(&data, &plan, 9);
    assert!(max_abs_diff(&run.weights, &deep.weights) < 1e-12);
    assert_eq!(run.losses, deep.losses);
    let losses = &run.losses;
    eprintln!(
        "{} epochs of 3 steps in 9 levels: {}, Brier {losses:?}",
        plan.epochs, run.counts
    );
    // The loss falls and the model separates the blobs.
    assert_eq!(losses.len(), 4);
    assert!(losses.windows(2).all(|l| l[1] < l[0]), "{losses:?}");
    // Without early stopping no loss is computed, and the same weights come out.
    let unvalidated = train_on_plain(
        &data,
        &TrainingPlan {
            patience: None,
            ..plan.clone()
        },
        9,
    );
    assert!(unvalidated.losses.is_empty());
    assert!(unvalidated.counts.bootstraps < run.counts.bootstraps);
    assert!(max_abs_diff(&unvalidated.weights, &deep.weights) < 1e-12);
    let model = SoftmaxRegression { weights: run.weights };
    assert_eq!(model.evaluate(&data).accuracy, 1.0);
}

#[test]
fn the_hetal_baseline_trains_with_one_refresh_per_short_ciphertext() {
    let data = blobs(40, 2);
    let blindtuner = TrainingPlan::new(3, 3, 16, 256, 0.5, 4, Some(10), 8.0).unwrap();
    let hetal = blindtuner.clone().with_method(Method::Hetal).unwrap();
    let deep = train_on_plain(&data, &hetal, 100_000);
    assert_eq!(deep.counts.bootstraps, 0);
    let run = train_on_plain(&data, &hetal, 9);
    assert!(max_abs_diff(&run.weights, &deep.weights) < 1e-12);
    assert_eq!(run.losses, deep.losses);
    // Unpaired: every refresh carries one ciphertext; BlindTuner pairs and refreshes less.
    assert_eq!(run.refresh.refreshes, run.refresh.ciphertexts);
    let ours = train_on_plain(&data, &blindtuner, 9);
    eprintln!(
        "{} epochs in 9 levels: HETAL {} refreshes, BlindTuner {} ({} ciphertexts)",
        hetal.epochs, run.refresh.refreshes, ours.refresh.refreshes, ours.refresh.ciphertexts
    );
    assert!(ours.refresh.refreshes < run.refresh.refreshes);
    assert!(run.losses.windows(2).all(|l| l[1] < l[0]), "{:?}", run.losses);
    let model = SoftmaxRegression { weights: run.weights };
    assert_eq!(model.evaluate(&data).accuracy, 1.0);
}

#[test]
fn early_stopping_keeps_the_best_epoch() {
    let data = blobs(40, 3);
    let plan = TrainingPlan::new(3, 3, 16, 256, 0.5, 6, Some(1), 8.0).unwrap();
    let backend = PlainBackend::new(plan.shape.slots(), 9).unwrap();
    let (mut client, cloud) = backend.keygen(&plan.rotations().unwrap()).unwrap();
    let cloud = CountingCloud::new(cloud);
    let upload = EncryptedData::encrypt(&mut client, &plan, &data, &data, 7).unwrap();
    let bootstrap = Bootstrap::new(&cloud).unwrap();
    // A judge that likes epoch 2 best and stops at epoch 3.
    let mut epochs_seen = Vec::new();
    let run = train(
        &cloud,
        &Levels::refreshing(&bootstrap),
        &plan,
        &upload,
        &mut |epoch, _| {
            Ok(Verdict {
                improved: epoch <= 2,
                stop: epoch == 3,
            })
        },
        &mut |event| {
            if let TrainingEvent::Epoch { epoch, .. } = event {
                epochs_seen.push(epoch);
            }
        },
    )
    .unwrap();
    assert_eq!(epochs_seen, [1, 2, 3]);
    assert_eq!(
        (run.stats.epochs_run, run.stats.best_epoch, run.stats.stopped_early),
        (3, 2, true)
    );
    assert_eq!(run.stats.steps, 9);
    // The weights kept are epoch 2's: six steps of the same run.
    let short = TrainingPlan {
        epochs: 2,
        ..plan.clone()
    };
    let want = train_on_plain(&data, &short, 9).weights;
    assert!(max_abs_diff(&run.model.decrypt(&client).unwrap(), &want) < 1e-12);
}

/// `-log2` of the largest difference of two weight matrices.
fn bits(a: &Matrix, b: &Matrix) -> f64 {
    -max_abs_diff(a, b).log2()
}

#[test]
fn native_training_with_bootstrapping_follows_plain() {
    // Four steps: in the fourth, the weights run short and join the errors' refresh.
    let data = blobs(128, 4);
    // The toy bootstrapping set with the 9 work levels of boot-n16.
    let backend = NativeBackend::named("boot-toy-n12-w9").unwrap();
    let slots = backend.capabilities().slots;
    let plan = TrainingPlan::new(3, 3, 32, slots, 0.5, 1, Some(3), 8.0).unwrap();
    let want = train_on_plain(&data, &plan, backend.capabilities().max_level.unwrap());
    let run = train_on(&backend, Refreshing::Bootstrap, &data, &plan);
    let precision = bits(&run.weights, &want.weights);
    eprintln!(
        "boot-toy-n12, {} steps: weights to {precision:.1} bits of plain's (largest {:.2}), Brier {:?} against {:?}, {}, {:?}",
        data.len().div_ceil(32),
        want.weights.data.iter().map(|v| v.abs()).fold(0.0, f64::max),
        run.losses,
        want.losses,
        run.counts,
        run.refresh
    );
    assert_eq!(run.counts.bootstraps, want.counts.bootstraps);
    assert_eq!(run.refresh.ciphertexts, want.refresh.ciphertexts);
    assert!(
        run.refresh.ciphertexts > run.refresh.refreshes,
        "no paired refresh: {:?}",
        run.refresh
    );
    // Bootstrapping keeps about 20 bits of the weights divided by M = 8, and the errors P - Y
    // are refreshed once so that the gradient can be packed: 17.7 bits measured after one
    // step, 15.4 after four (the same with the weights refreshed apart: NAG's momentum
    // accumulates the noise, not the pairing).
    assert!(precision > 14.5, "{precision}");
    assert!((run.losses[0] - want.losses[0]).abs() < 1e-3);
}

#[test]
fn native_training_with_client_refreshes_follows_plain() {
    let data = blobs(24, 5);
    let backend = NativeBackend::named("toy-n12").unwrap();
    let caps = backend.capabilities();
    let plan = TrainingPlan::new(3, 3, 32, caps.slots, 0.5, 1, Some(3), 8.0).unwrap();
    let want = train_on_plain(&data, &plan, caps.max_level.unwrap());
    let run = train_on(&backend, Refreshing::Client, &data, &plan);
    let precision = bits(&run.weights, &want.weights);
    eprintln!(
        "toy-n12 with client refreshes: weights to {precision:.1} bits of plain's, {} rounds, {} bytes",
        run.refresh.client_rounds, run.refresh.client_bytes
    );
    assert_eq!(run.counts.bootstraps, 0);
    assert_eq!(run.refresh.client_rounds, want.counts.bootstraps);
    assert!(run.refresh.client_bytes > 0);
    assert!(precision > 14.0, "{precision}");
}

#[test]
fn a_plan_gives_every_row_two_periods_of_classes() {
    // SEAL's 8,192 slots and ten classes: HETAL's shape would be 512 x 16, one period a row;
    // the softmax needs two, so a block holds 256 rows.
    let plan = TrainingPlan::new(10, 65, 256, 8192, 1.0, 1, None, 16.0).unwrap();
    assert_eq!(plan.shape, BlockShape::new(256, 32).unwrap());
    let e = TrainingPlan::new(10, 65, 512, 8192, 1.0, 1, None, 16.0).unwrap_err();
    assert!(e.to_string().contains("256 rows at most"), "{e}");
    // Where HETAL's shape has two periods already, it is kept: its MNIST block.
    let hetal = TrainingPlan::new(10, 769, 1024, 1 << 15, 1.0, 1, None, 16.0).unwrap();
    assert_eq!(hetal.shape, BlockShape::hetal(1024, 10, 1 << 15).unwrap());
}
