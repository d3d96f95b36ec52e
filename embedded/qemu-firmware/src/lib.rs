//! The QEMU firmwares' shared parts (Cortex-M4, mps2-an386): a NOR flash in RAM that
//! survives resets, the board's UART, the factory provisioning block, and the figures
//! (instructions, heap, stack) the firmwares report.

#![no_std]

extern crate alloc;

pub mod measure;
pub mod provisioning;
pub mod ram_flash;
pub mod uart;
