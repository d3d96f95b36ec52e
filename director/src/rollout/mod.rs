//! Staged rollouts, decided by pure functions over typed values (the design in
//! `shared/designs/rollouts.md`): who each stage admits ([`admission`]), whether a stage
//! holds, advances or pauses ([`gate`]), which commands move a rollout ([`state`]), and
//! where each of its vehicles stands ([`vehicle`]).
//! The store and the service drive them; nothing here does I/O.

pub mod admission;
pub mod gate;
pub mod outcomes;
pub mod state;
pub mod vehicle;
pub mod window;
