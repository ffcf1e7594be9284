//! Packing round trips, the class-scores layout, and every shape error.

use blindtuner_backend::Client;
use blindtuner_encrypted::EncryptedError;
use blindtuner_encrypted::matmul::{diag_abt, diag_abt_rotations, diag_atb};
use blindtuner_encrypted::packing::{BlockShape, PackedMatrix, PackedScores, PackedWeights, padded_classes};
use blindtuner_encrypted::refresh::Levels;
use blindtuner_encrypted::softmax::Softmax;
use blindtuner_features::Matrix;

use crate::common::{plain, random_matrix};

#[test]
fn block_shapes() {
    assert_eq!(
        BlockShape::hetal(1024, 10, 1 << 15).unwrap(),
        BlockShape::new(1024, 32).unwrap()
    );
    assert_eq!(
        BlockShape::hetal(2048, 10, 1 << 15).unwrap(),
        BlockShape::new(2048, 16).unwrap()
    );
    // A small batch still leaves at least c_pad columns; a huge one at most slots / c_pad rows.
    assert_eq!(BlockShape::hetal(3, 3, 64).unwrap(), BlockShape::new(4, 16).unwrap());
    assert_eq!(BlockShape::hetal(1000, 3, 64).unwrap(), BlockShape::new(16, 4).unwrap());
    assert_eq!(padded_classes(10).unwrap(), 16);
    assert!(matches!(BlockShape::new(6, 4), Err(EncryptedError::BlockShape { .. })));
    assert!(matches!(
        BlockShape::hetal(8, 1, 64),
        Err(EncryptedError::Unsupported(_))
    ));
    assert!(matches!(
        BlockShape::hetal(8, 128, 64),
        Err(EncryptedError::Unsupported(_))
    ));
}

#[test]
fn round_trips() {
    let shape = BlockShape::new(8, 4).unwrap();
    let (mut client, _) = plain(shape.slots(), 1, &[]);
    let x = random_matrix(19, 10, 1.0, 1);
    let px = PackedMatrix::encrypt(&mut client, &x, shape).unwrap();
    assert_eq!((px.row_blocks(), px.col_blocks()), (3, 3));
    assert_eq!(px.decrypt(&client).unwrap(), x);

    let w = random_matrix(3, 10, 1.0, 2);
    let pw = PackedWeights::encrypt(&mut client, &w, shape).unwrap();
    assert_eq!(pw.decrypt(&client).unwrap(), w);
    // Tiled down the block: row i is class i mod 4, zero for the padded fourth class.
    let block = client.decrypt(&pw.blocks()[1]).unwrap();
    for i in 0..8 {
        for t in 0..4 {
            let want = if i % 4 < 3 { w.data[(i % 4) * 10 + 4 + t] } else { 0.0 };
            assert_eq!(block[i * 4 + t], want);
        }
    }

    let s = random_matrix(19, 3, 1.0, 3);
    let ps = PackedScores::encrypt(&mut client, &s, shape).unwrap();
    assert_eq!(ps.decrypt(&client).unwrap(), s);
    // Row i lists its classes rotated by i: column u holds class (i + u) mod 4.
    let block = client.decrypt(&ps.blocks()[1]).unwrap();
    for i in 0..8 {
        for u in 0..4 {
            let class = (i + u) % 4;
            let want = if class < 3 { s.data[(8 + i) * 3 + class] } else { 0.0 };
            assert_eq!(block[i * 4 + u], want);
        }
    }

    let labels: Vec<usize> = (0..19).map(|i| (i * 7) % 3).collect();
    let py = PackedScores::encrypt_labels(&mut client, &labels, 3, shape).unwrap();
    let one_hot = py.decrypt(&client).unwrap();
    for (i, &y) in labels.iter().enumerate() {
        assert_eq!(
            one_hot.row(i),
            &(0..3).map(|q| f64::from(u8::from(q == y))).collect::<Vec<_>>()[..]
        );
    }
}

#[test]
fn packing_errors() {
    let shape = BlockShape::new(4, 8).unwrap();
    let (mut client, _) = plain(shape.slots(), 1, &[]);
    // Five classes pad to 8: more than the 4 rows weights are tiled down.
    assert!(matches!(
        PackedWeights::encrypt(&mut client, &Matrix::zeros(5, 3), shape),
        Err(EncryptedError::Mismatch { .. })
    ));
    // Nine classes pad to 16: more than a row of 8 columns holds.
    assert!(matches!(
        PackedScores::encrypt(&mut client, &Matrix::zeros(2, 9), shape),
        Err(EncryptedError::Mismatch { .. })
    ));
    assert!(matches!(
        PackedScores::encrypt_labels(&mut client, &[0, 1, 3], 3, shape),
        Err(EncryptedError::Label {
            row: 2,
            label: 3,
            classes: 3
        })
    ));
    assert!(matches!(
        PackedMatrix::encrypt(&mut client, &Matrix::zeros(0, 3), shape),
        Err(EncryptedError::Mismatch { .. })
    ));
    let mut x = Matrix::zeros(3, 2).with_bias_column();
    assert!(PackedMatrix::encrypt_features(&mut client, &x, shape).is_ok());
    x.data[2 * 3 + 2] = 0.5;
    assert_eq!(
        PackedMatrix::encrypt_features(&mut client, &x, shape).unwrap_err(),
        EncryptedError::MissingBias { row: 2, value: 0.5 }
    );
}

#[test]
fn circuit_errors() {
    let shape = BlockShape::new(8, 8).unwrap();
    let keys = diag_abt_rotations(shape, 3).unwrap();
    let (mut client, cloud) = plain(shape.slots(), 2, &keys);
    let x = PackedMatrix::encrypt(&mut client, &random_matrix(8, 10, 1.0, 1), shape).unwrap();
    let w = PackedWeights::encrypt(&mut client, &random_matrix(3, 10, 1.0, 2), shape).unwrap();
    let e = PackedScores::encrypt(&mut client, &random_matrix(8, 3, 1.0, 3), shape).unwrap();
    assert!(diag_abt(&cloud, &x, &w).is_ok());

    let other_shape = BlockShape::new(4, 16).unwrap();
    let w_other = PackedWeights::encrypt(&mut client, &random_matrix(3, 10, 1.0, 2), other_shape).unwrap();
    let w_narrow = PackedWeights::encrypt(&mut client, &random_matrix(3, 9, 1.0, 2), shape).unwrap();
    let e_short = PackedScores::encrypt(&mut client, &random_matrix(7, 3, 1.0, 3), shape).unwrap();
    let mismatch = |r: Result<_, EncryptedError>| matches!(r, Err(EncryptedError::Mismatch { .. }));
    assert!(mismatch(diag_abt(&cloud, &x, &w_other).map(|_| ())));
    assert!(mismatch(diag_abt(&cloud, &x, &w_narrow).map(|_| ())));
    assert!(mismatch(diag_atb(&cloud, &e_short, &x, 1.0).map(|_| ())));

    // A backend whose slots are not the block's.
    let (_, wide_cloud) = plain(2 * shape.slots(), 2, &keys);
    assert!(mismatch(diag_abt(&wide_cloud, &x, &w).map(|_| ())));

    // Too few levels: refused before any work.
    let (mut low_client, low_cloud) = plain(shape.slots(), 1, &keys);
    let x_low = PackedMatrix::encrypt(&mut low_client, &random_matrix(8, 10, 1.0, 1), shape).unwrap();
    let w_low = PackedWeights::encrypt(&mut low_client, &random_matrix(3, 10, 1.0, 2), shape).unwrap();
    assert_eq!(
        diag_abt(&low_cloud, &x_low, &w_low).unwrap_err(),
        EncryptedError::Levels {
            circuit: "DiagABT",
            needed: 2,
            available: 1
        }
    );
    let softmax = Softmax::new(3, shape).unwrap();
    assert!(matches!(
        softmax.apply(&cloud, &Levels::fixed(), &e),
        Err(EncryptedError::Levels { .. })
    ));
    // A row of 8 holds only one period of 8 classes.
    assert!(matches!(Softmax::new(5, shape), Err(EncryptedError::Unsupported(_))));
    assert!(matches!(
        Softmax::new(3, other_shape)
            .unwrap()
            .apply(&cloud, &Levels::fixed(), &e),
        Err(EncryptedError::Mismatch { .. })
    ));
}
