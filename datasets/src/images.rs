//! In-memory labelled images, the common currency of every loader.

/// A stack of `count` images of `height x width x channels` bytes each,
/// channel-last, row-major. Pixel values lie in `0..=max_value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// The largest value a pixel can take (255 for MNIST, 16 for UCI digits).
    pub max_value: u8,
    pub pixels: Vec<u8>,
}

impl Images {
    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The images at the given indices, in that order.
    pub fn select(&self, indices: &[usize]) -> Images {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Images {
            count: indices.len(),
            pixels,
            ..*self
        }
    }
}

/// Images with one class label each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examples {
    pub images: Images,
    pub labels: Vec<usize>,
}

impl Examples {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The examples at the given indices, in that order.
    pub fn select(&self, indices: &[usize]) -> Examples {
        Examples {
            images: self.images.select(indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// The contiguous range `start..end` of examples.
    pub fn range(&self, start: usize, end: usize) -> Examples {
        self.select(&(start..end).collect::<Vec<_>>())
    }
}

/// A data set with its fixed train / validation / test split.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Catalogue name (`mnist10k`, `cifar10`, `face-mask`, ...).
    pub name: String,
    /// Where the examples came from: `embedded` or the data directory.
    pub origin: String,
    pub classes: usize,
    pub train: Examples,
    pub val: Examples,
    pub test: Examples,
}
