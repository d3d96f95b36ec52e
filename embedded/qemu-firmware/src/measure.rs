//! The figures the firmware reports: instructions (SysTick under `-icount shift=0`,
//! calibrated against a loop of known length), peak heap (a counting allocator), peak
//! stack (the stack is painted at start and the untouched paint measured at the end),
//! and static RAM (from the linker's symbols).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_semihosting::hprintln;
use embedded_alloc::LlffHeap;

const HEAP_SIZE: usize = 256 * 1024;
const PAINT: u32 = 0x5AA5_C33C;
const SCRATCH_SIZE: usize = 8 * 1024;

static HEAP: LlffHeap = LlffHeap::empty();
static USED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static mut HEAP_MEMORY: [u8; HEAP_SIZE] = [0; HEAP_SIZE];
static mut SCRATCH: [u8; SCRATCH_SIZE] = [0; SCRATCH_SIZE];
static mut INSTRUCTIONS_PER_TICK_X100: u32 = 0;

/// The heap, counting what is in use.
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { HEAP.alloc(layout) };
        if !p.is_null() {
            let used = USED.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(used, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { HEAP.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
    static __sdata: u32;
    static __sbss: u32;
    static __ebss: u32;
    static __edata: u32;
}

fn stack_bottom() -> *mut u32 {
    core::ptr::addr_of_mut!(__sheap)
}

fn stack_top() -> *const u32 {
    core::ptr::addr_of!(_stack_start)
}

/// Heap, stack paint and SysTick; calibrates instructions per tick.
pub fn init() {
    unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEMORY) as usize, HEAP_SIZE) };
    // Paint from the end of statics up to a little below the current stack pointer.
    let sp = cortex_m::register::msp::read() as *mut u32;
    let mut p = stack_bottom();
    while (p as usize) < sp as usize - 256 {
        unsafe { p.write_volatile(PAINT) };
        p = p.wrapping_add(1);
    }
    let mut peripherals = cortex_m::Peripherals::take().unwrap();
    peripherals.SYST.set_clock_source(SystClkSource::Core);
    peripherals.SYST.set_reload(0x00FF_FFFF);
    peripherals.SYST.clear_current();
    peripherals.SYST.enable_counter();
    // 200,000 iterations of a two-instruction loop: 400,000 instructions.
    let ((), ticks) = ticks(|| unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) 200_000u32 => _,
        )
    });
    unsafe { INSTRUCTIONS_PER_TICK_X100 = (400_000u64 * 100 / u64::from(ticks.max(1))) as u32 };
}

/// Runs `f`; its result and the SysTick ticks it took (under 2^24).
pub fn ticks<T>(f: impl FnOnce() -> T) -> (T, u32) {
    let start = cortex_m::peripheral::SYST::get_current();
    let result = f();
    let end = cortex_m::peripheral::SYST::get_current();
    (result, start.wrapping_sub(end) & 0x00FF_FFFF)
}

/// Ticks in instructions, by the calibration.
pub fn instructions(ticks: u32) -> u64 {
    u64::from(ticks) * u64::from(unsafe { INSTRUCTIONS_PER_TICK_X100 }) / 100
}

/// The metadata scratch buffer.
///
/// # Safety
/// One user at a time (the firmware is single-threaded).
pub unsafe fn scratch() -> &'static mut [u8] {
    unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) }
}

/// Prints peak heap, peak stack and static RAM.
pub fn report() {
    let mut p = stack_bottom() as *const u32;
    while unsafe { p.read_volatile() } == PAINT {
        p = p.wrapping_add(1);
    }
    let stack = stack_top() as usize - p as usize;
    let statics = (core::ptr::addr_of!(__edata) as usize - core::ptr::addr_of!(__sdata) as usize)
        + (core::ptr::addr_of!(__ebss) as usize - core::ptr::addr_of!(__sbss) as usize);
    hprintln!(
        "calibration: {}.{:02} instructions per SysTick tick",
        unsafe { INSTRUCTIONS_PER_TICK_X100 } / 100,
        unsafe { INSTRUCTIONS_PER_TICK_X100 } % 100
    );
    hprintln!("peak heap: {} bytes (of a {} byte heap)", PEAK.load(Ordering::Relaxed), HEAP_SIZE);
    hprintln!("peak stack: {} bytes", stack);
    hprintln!(
        "static RAM (.data + .bss): {} bytes, of which heap {} and metadata scratch {}",
        statics,
        HEAP_SIZE,
        SCRATCH_SIZE
    );
}
