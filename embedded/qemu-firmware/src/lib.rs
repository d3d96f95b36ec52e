//! The QEMU firmwares' shared parts (Cortex-M4, mps2-an386): a NOR flash in RAM that
//! survives resets, the board's UART, the factory provisioning block, and the figures
//! (instructions, heap, stack) the firmwares report.

#![no_std]

extern crate alloc;

pub mod measure;
pub mod provisioning;
pub mod ram_flash;
pub mod uart;

use cortex_m_semihosting::{debug, hprintln};

/// A panic is a failed run: say why and exit QEMU with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("PANIC: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
