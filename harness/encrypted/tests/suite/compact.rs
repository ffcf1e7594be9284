//! Compact weights: encryption and decryption, packing tiled weights and unpacking them again,
//! exactly on plain and to CKKS precision on native, with the closed-form counts.

use blindtuner_backend::{Backend, Client, Cloud};
use blindtuner_encrypted::compact::{COMPACT_DEPTH, CompactWeights, compact_counts, compact_rotations};
use blindtuner_encrypted::counting::CountingCloud;
use blindtuner_encrypted::packing::{BlockShape, PackedWeights};
use blindtuner_native::NativeBackend;

use crate::common::{max_abs_diff, plain, random_matrix};

#[test]
fn pack_and_unpack_restore_the_tiled_weights_on_plain() {
    // 3 classes pad to 4: 8 blocks of 4 rows per ciphertext; 21 column blocks need 3.
    let (classes, cols) = (3, 161);
    let shape = BlockShape::new(32, 8).unwrap();
    let keys = compact_rotations(shape, classes, cols).unwrap();
    let (mut client, cloud) = plain(shape.slots(), 3, &keys);
    let w = random_matrix(classes, cols, 1.0, 7);

    let compact = CompactWeights::encrypt(&mut client, &w, shape).unwrap();
    assert_eq!(compact.cts().len(), 3);
    assert_eq!(compact.decrypt(&client).unwrap(), w);

    let cloud = CountingCloud::new(cloud);
    let tiled = PackedWeights::encrypt(&mut client, &w, shape).unwrap();
    let packed = CompactWeights::pack(&cloud, &tiled).unwrap();
    assert_eq!(packed.decrypt(&client).unwrap(), w);
    let unpacked = packed.unpack(&cloud).unwrap();
    assert_eq!(unpacked.decrypt(&client).unwrap(), w);
    // Unpacked blocks are tiled again, every copy in place: equal to fresh tiled weights.
    for (got, want) in unpacked.blocks().iter().zip(tiled.blocks()) {
        assert_eq!(cloud.level(got), 3 - 2 * COMPACT_DEPTH);
        assert_eq!(client.decrypt(got).unwrap(), client.decrypt(want).unwrap());
    }
    assert_eq!(cloud.counts(), compact_counts(shape, classes, cols).unwrap());
}

#[test]
fn pack_and_unpack_keep_ckks_precision_on_native() {
    let backend = NativeBackend::named("toy-n12").unwrap();
    let shape = BlockShape::new(64, backend.capabilities().slots / 64).unwrap();
    let (classes, cols) = (10, 5 * shape.cols() - 3);
    let (mut client, cloud) = backend
        .keygen(&compact_rotations(shape, classes, cols).unwrap())
        .unwrap();
    let w = random_matrix(classes, cols, 1.0, 8);
    let tiled = PackedWeights::encrypt(&mut client, &w, shape).unwrap();
    let unpacked = CompactWeights::pack(&cloud, &tiled).unwrap().unpack(&cloud).unwrap();
    let err = max_abs_diff(&unpacked.decrypt(&client).unwrap(), &w);
    eprintln!("toy-n12: packed and unpacked weights within 2^{:.1}", err.log2());
    assert!(err < 2f64.powi(-20), "{err}");
}
