//! Named hyperparameter presets: HETAL's published per-data-set settings and
//! the defaults of the embedded data sets.

/// What the trainer needs besides the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyperparams {
    /// Examples per mini-batch (the last batch of an epoch may be smaller).
    pub batch: usize,
    /// Learning rate of the gradient step.
    pub lr: f64,
    /// Maximum number of epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a lower validation loss; `None`
    /// trains for all epochs.
    pub patience: Option<usize>,
}

/// A named set of hyperparameters and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub hyper: Hyperparams,
    pub source: &'static str,
}

const HETAL: &str = "HETAL (ICML 2023), src/hetal/hyperparams.py, patience 3";

const fn hetal(name: &'static str, batch: usize, lr: f64, epochs: usize) -> Preset {
    Preset {
        name,
        hyper: Hyperparams {
            batch,
            lr,
            epochs,
            patience: Some(3),
        },
        source: HETAL,
    }
}

/// Every preset, by name.
pub const PRESETS: [Preset; 7] = [
    hetal("hetal-mnist", 1024, 2.0, 7),
    hetal("hetal-cifar10", 2048, 1.0, 9),
    hetal("hetal-face-mask", 512, 0.5, 22),
    hetal("hetal-dermamnist", 1024, 0.3, 23),
    hetal("hetal-snips", 1024, 1.0, 14),
    Preset {
        name: "mnist10k",
        hyper: Hyperparams {
            batch: 1024,
            lr: 0.2,
            epochs: 40,
            patience: Some(3),
        },
        source: "blindtuner default for raw pixels in [0, 1]: HETAL's MNIST batch, a learning rate below 2 / L for pixel features, enough epochs for 7,000 examples",
    },
    Preset {
        name: "digits",
        hyper: Hyperparams {
            batch: 128,
            lr: 0.2,
            epochs: 60,
            patience: Some(3),
        },
        source: "blindtuner default for the 1,797 UCI digits",
    },
];

/// Looks a preset up by name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The preset a data set trains with unless told otherwise: its own if it
/// has one, HETAL's for the paper's data sets (every DermaMNIST size uses
/// HETAL's DermaMNIST setting), else HETAL's MNIST setting (`mnist` and the
/// MNIST-like IDX layout).
pub fn default_preset(dataset: &str) -> &'static Preset {
    let name = match dataset {
        "cifar10" => "hetal-cifar10",
        "face-mask" => "hetal-face-mask",
        d if d.starts_with("dermamnist") => "hetal-dermamnist",
        d => d,
    };
    preset(name).unwrap_or(&PRESETS[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_data_sets_default_to_hetals_presets() {
        for (dataset, want) in [
            ("mnist10k", "mnist10k"),
            ("digits", "digits"),
            ("mnist", "hetal-mnist"),
            ("idx", "hetal-mnist"),
            ("cifar10", "hetal-cifar10"),
            ("face-mask", "hetal-face-mask"),
            ("dermamnist", "hetal-dermamnist"),
            ("dermamnist-224", "hetal-dermamnist"),
        ] {
            assert_eq!(default_preset(dataset).name, want, "{dataset}");
        }
    }
}
