//! The Uptane director: the inventory of vehicles and their ECUs, signed vehicle version
//! manifests in, per-vehicle director repositories out, signed with online keys; and
//! the image repository that repo-tool publishes.

pub mod api;
pub mod assignment;
pub mod audit;
pub mod commands;
pub mod config;
pub mod decommission;
pub mod encryption;
pub mod evidence;
pub mod images;
pub mod inventory;
pub mod keys;
pub mod lifecycle;
pub mod limits;
pub mod log;
pub mod manifest;
pub mod metrics;
pub mod repo;
pub mod rollout;
pub mod rollouts;
pub mod sbom;
pub mod selector;
pub mod server;
pub mod service;
pub mod setup;
pub mod store;
pub mod ui;
