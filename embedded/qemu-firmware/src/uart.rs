//! The board's UART0 (a CMSDK APB UART at 0x4000_4000 on mps2-an386), polled. QEMU joins
//! it to a host TCP port (`-serial tcp:127.0.0.1:PORT,server=on,wait=off`): the bytes the
//! primary writes there arrive here, as they would over a real serial line.

use core::ptr::{read_volatile, write_volatile};

const BASE: usize = 0x4000_4000;
const DATA: *mut u32 = BASE as *mut u32;
const STATE: *const u32 = (BASE + 0x04) as *const u32;
const CTRL: *mut u32 = (BASE + 0x08) as *mut u32;
const BAUDDIV: *mut u32 = (BASE + 0x10) as *mut u32;

const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;
const TX_ENABLE: u32 = 1 << 0;
const RX_ENABLE: u32 = 1 << 1;

/// UART0, polled.
pub struct Uart {
    _owned: (),
}

impl Uart {
    /// Enables transmit and receive. The divider is the smallest the UART accepts (QEMU
    /// does not pace the bytes).
    ///
    /// # Safety
    /// Call once: the returned value owns the UART's registers.
    pub unsafe fn take() -> Uart {
        unsafe {
            write_volatile(BAUDDIV, 16);
            write_volatile(CTRL, TX_ENABLE | RX_ENABLE);
        }
        Uart { _owned: () }
    }

    /// The next received byte, if one is waiting.
    pub fn try_read(&mut self) -> Option<u8> {
        // The registers belong to `self` (see `take`).
        unsafe { (read_volatile(STATE) & RX_FULL != 0).then(|| read_volatile(DATA) as u8) }
    }

    /// Sends `bytes`, waiting for room in the transmit register.
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            unsafe {
                while read_volatile(STATE) & TX_FULL != 0 {}
                write_volatile(DATA, u32::from(byte));
            }
        }
    }
}
