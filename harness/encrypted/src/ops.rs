//! The idioms every circuit uses: accumulating a sum, rotate-and-add, rotation key lists.

use std::borrow::Cow;
use std::collections::BTreeSet;

use blindtuner_backend::{BackendError, Cloud};

use crate::EncryptedError;
use crate::packing::BlockShape;

/// `acc + x`, or `x` when nothing has been accumulated yet.
pub(crate) fn accumulate<C: Cloud>(
    cloud: &C,
    acc: Option<C::Ciphertext>,
    x: C::Ciphertext,
) -> Result<C::Ciphertext, BackendError> {
    match acc {
        None => Ok(x),
        Some(acc) => cloud.add(&acc, &x),
    }
}

/// `cts` at `level`: those above it lowered ([`Cloud::lower`]) once here rather than by every
/// product they meet, those at it borrowed.
pub(crate) fn lowered<'a, C: Cloud>(
    cloud: &C,
    cts: &'a [C::Ciphertext],
    level: usize,
) -> Result<Vec<Cow<'a, C::Ciphertext>>, BackendError>
where
    C::Ciphertext: Clone,
{
    cts.iter()
        .map(|ct| {
            Ok(if cloud.level(ct) > level {
                Cow::Owned(cloud.lower(ct, level)?)
            } else {
                Cow::Borrowed(ct)
            })
        })
        .collect()
}

/// The lowest level among `cts` (`usize::MAX` for none).
pub(crate) fn lowest_level<'a, C: Cloud>(cloud: &C, cts: impl IntoIterator<Item = &'a C::Ciphertext>) -> usize
where
    C::Ciphertext: 'a,
{
    cts.into_iter().map(|ct| cloud.level(ct)).min().unwrap_or(usize::MAX)
}

/// `a <- a + rotate(a, step)` for each step in turn: with steps `k, 2k, 4k, ...` slot `p`
/// ends up holding the sum of slots `p, p + k, p + 2k, ...` (a window of `2^n` of them).
pub(crate) fn rotate_and_add<C: Cloud>(
    cloud: &C,
    mut a: C::Ciphertext,
    steps: impl IntoIterator<Item = i64>,
) -> Result<C::Ciphertext, BackendError> {
    for step in steps {
        a = cloud.add(&a, &cloud.rotate(&a, step)?)?;
    }
    Ok(a)
}

/// The steps `unit, 2 unit, 4 unit, ...` of a window of `width` (a power of two) slots `unit`
/// apart; negative `unit` sums towards lower slots.
pub(crate) fn doubling_steps(unit: i64, width: usize) -> impl Iterator<Item = i64> {
    (0..width.trailing_zeros()).map(move |m| unit << m)
}

/// Rotation steps as keys for a block of `shape`: normalised to `[0, slots)`, without the
/// identity, sorted and unique.
pub(crate) fn rotation_keys(shape: BlockShape, steps: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let slots = shape.slots() as i64;
    let keys: BTreeSet<i64> = steps
        .into_iter()
        .map(|k| k.rem_euclid(slots))
        .filter(|&k| k != 0)
        .collect();
    keys.into_iter().collect()
}

/// Refuses to start `circuit` unless every input has `needed` levels.
pub(crate) fn require_levels<'a, C: Cloud>(
    cloud: &C,
    circuit: &'static str,
    needed: usize,
    inputs: impl IntoIterator<Item = &'a C::Ciphertext>,
) -> Result<(), EncryptedError>
where
    C::Ciphertext: 'a,
{
    match inputs.into_iter().map(|ct| cloud.level(ct)).min() {
        Some(available) if available < needed => Err(EncryptedError::Levels {
            circuit,
            needed,
            available,
        }),
        _ => Ok(()),
    }
}
