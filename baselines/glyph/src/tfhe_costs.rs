//! The unit of the scheme-switch model, on tfhe-rs: one key switch and programmable bootstrap
//! of one 2-bit block at the `tfhe` backend's block parameters (feature `tfhe`).
//!
//! tfhe-rs's `KS_PBS` parameters key-switch a block to the small LWE key and bootstrap it back
//! through a look-up table in one call (`apply_lookup_table`): the cheapest refreshing operation
//! a TFHE value can undergo, and the one the model counts per switched block
//! ([`crate::model`]).

use blindtuner_backend::BackendError;
use blindtuner_tfhe::BLOCK_PARAMETERS;
use tfhe::shortint::server_key::LookupTableOwned;
use tfhe::shortint::{Ciphertext, ClientKey, ServerKey};

/// Keys and a block ready to bootstrap.
pub struct BlockBootstrap {
    client: ClientKey,
    server: ServerKey,
    block: Ciphertext,
    /// The identity table: the bootstrap refreshes the block and keeps its message.
    table: LookupTableOwned,
}

impl BlockBootstrap {
    /// Fresh keys at the backend's block parameters and an encrypted block of value 3.
    pub fn new() -> BlockBootstrap {
        let (client, server) = tfhe::shortint::gen_keys(BLOCK_PARAMETERS);
        let block = client.encrypt(3);
        let table = server.generate_lookup_table(|m| m);
        BlockBootstrap {
            client,
            server,
            block,
            table,
        }
    }

    /// One key switch and programmable bootstrap; checks that the message survived.
    pub fn run(&self) -> Result<(), BackendError> {
        let out = self.server.apply_lookup_table(&self.block, &self.table);
        match self.client.decrypt(&out) {
            3 => Ok(()),
            other => Err(BackendError::Engine(format!(
                "a tfhe-rs block bootstrap returned {other} instead of 3"
            ))),
        }
    }
}

impl Default for BlockBootstrap {
    fn default() -> BlockBootstrap {
        BlockBootstrap::new()
    }
}
