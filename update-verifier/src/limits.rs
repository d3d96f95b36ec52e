//! Limits on what the verifier accepts: named configuration with documented defaults
//! (python-tuf's), so that endless-data and endless-work attacks stop early.

/// Size and work limits. Lengths listed in trusted metadata take precedence over the
/// `*_max_length` defaults, which bound files whose length nobody vouched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most new root versions fetched in one refresh (default 256).
    pub max_root_rotations: u32,
    /// Most delegated roles visited in one target search (default 32).
    pub max_delegations: u32,
    /// Largest root file (default 512,000 bytes).
    pub root_max_length: u64,
    /// Largest timestamp file (default 16,384 bytes).
    pub timestamp_max_length: u64,
    /// Largest snapshot file when timestamp lists no length (default 2,000,000 bytes).
    pub snapshot_max_length: u64,
    /// Largest targets file when snapshot lists no length (default 5,000,000 bytes).
    pub targets_max_length: u64,
    /// Deepest JSON nesting accepted (default 64).
    pub max_json_depth: usize,
}

impl Limits {
    /// python-tuf's defaults.
    pub const DEFAULT: Limits = Limits {
        max_root_rotations: 256,
        max_delegations: 32,
        root_max_length: 512_000,
        timestamp_max_length: 16_384,
        snapshot_max_length: 2_000_000,
        targets_max_length: 5_000_000,
        max_json_depth: metadata_schemas::json::ParseOptions::DEFAULT_MAX_DEPTH,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
