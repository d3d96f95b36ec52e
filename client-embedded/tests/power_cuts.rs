//! Power cuts everywhere. A clean run of update, trial boot, confirm, a second update
//! that fails its three trial runs and reverts, fault resets until the active image is
//! marked failed and the factory image boots, a third update installed from the factory
//! image, and a recovery the application asks for (the recovery loader installs the image
//! again into the other slot), counts every flash operation; then for every
//! operation power is cut before it, in the middle of it, and again during the recovery
//! boot. After each cut the device must boot exactly the image of the last or the next
//! step boundary, byte for byte; the anti-rollback floors must never fall; an install
//! the cut stopped, started again, resumes past the sectors it had written and boots
//! byte for byte; and a later update must still install, run and confirm. Runs over
//! several flash geometries.

use client_embedded::sim::{Cut, SimFlash};
use client_embedded::{
    BootDecision, BootInputs, Device, FactoryImage, Floors, ImageInfo, Layout, ResetCause, SlotStatus,
};

/// One step of the scenario.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The running application installs image `n` (1-based) into the other slot.
    Install(usize),
    /// A reset: the bootloader decides.
    Reset,
    /// A watchdog or fault reset: the bootloader counts it, then decides.
    FaultReset,
    /// The running trial image confirms itself.
    Confirm,
    /// The running image says it is healthy.
    Healthy,
    /// The application asks for the recovery loader at the next reset.
    RequestRecovery,
}

const SCENARIO: [Step; 24] = [
    Step::Install(1),
    Step::Reset,
    Step::Confirm,
    Step::Reset,
    Step::Install(2),
    Step::Reset,
    Step::Reset,
    Step::Reset,
    Step::Reset, // image 2 ran three trials and never confirmed: revert
    Step::FaultReset,
    Step::Healthy, // the fault count starts over
    Step::FaultReset,
    Step::FaultReset,
    Step::FaultReset,
    Step::FaultReset,
    Step::FaultReset, // five in a row: image 1 failed, image 0 below the floors, the factory image
    Step::Install(3), // from the factory image, into a failed slot
    Step::Reset,
    Step::Confirm,
    Step::RequestRecovery,
    Step::Reset,      // the recovery loader
    Step::Install(3), // by the recovery loader, into the other slot: the request ends with it
    Step::Reset,
    Step::Confirm,
];

/// [`Outcome::image`] when the factory region's image boots.
const FACTORY: usize = 99;
/// [`Outcome::image`] when the recovery loader starts.
const RECOVERY: usize = 98;

struct Images {
    bytes: Vec<Vec<u8>>,
    infos: Vec<ImageInfo>,
}

impl Images {
    /// Factory image 0 and updates 1..=3, each a few sectors and a bit long.
    fn new(sector: usize) -> Images {
        let len = sector * 2 + sector / 2 + 13;
        let bytes: Vec<Vec<u8>> =
            (0..4u8).map(|n| (0..len + n as usize).map(|i| (i as u8).wrapping_mul(31) ^ n).collect()).collect();
        let infos = bytes
            .iter()
            .enumerate()
            .map(|(n, b)| ImageInfo {
                length: b.len() as u32,
                sha256: threshold_keys::digest::sha256(b),
                release_counter: n as u64 + 1,
                targets_version: n as u64 + 1,
            })
            .collect();
        Images { bytes, infos }
    }

    fn name(n: usize) -> Vec<u8> {
        format!("ecu/brake/firmware-{n}-with-a-long-enough-name-to-take-two-records.bin").into_bytes()
    }

    fn index_of(&self, info: &ImageInfo) -> usize {
        self.infos.iter().position(|i| i == info).expect("a known image")
    }
}

/// What a boot at a step boundary leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    /// The image booted (0 = the first image, [`FACTORY`] = the factory region's).
    image: usize,
    /// Anti-rollback floors.
    floors: Floors,
    /// Slot A's and B's status after the boot.
    statuses: [SlotStatus; 2],
}

impl Outcome {
    fn of<F: embedded_storage::nor_flash::NorFlash>(image: usize, device: &Device<F>) -> Outcome {
        let state = device.state();
        Outcome { image, floors: state.floors, statuses: [state.slots[0].status, state.slots[1].status] }
    }
}

type Failure = client_embedded::Error<client_embedded::sim::SimError>;

struct Run<const W: usize, const E: usize> {
    layout: Layout,
    images: Images,
    chunk: usize,
    base: SimFlash<W, E>,
}

impl<const W: usize, const E: usize> Run<W, E> {
    fn new() -> Self {
        let layout = Layout::contiguous(0, E as u32, (E * 3) as u32, E as u32, E as u32, false)
            .with_factory(E as u32, (E * 3) as u32);
        let images = Images::new(E);
        let base = Self::provision(&layout, &images);
        Run { layout, images, chunk: (E / 16).max(256) + 3, base }
    }

    /// A provisioned flash running image 0, with image 0 in the factory region too, its
    /// state log nearly full so the scenario crosses a compaction.
    fn provision(layout: &Layout, images: &Images) -> SimFlash<W, E> {
        let mut flash = SimFlash::<W, E>::new(layout.end() as usize / E);
        flash.program(layout.slots[0].start as usize, &images.bytes[0]);
        flash.program(layout.factory.start as usize, &images.bytes[0]);
        let factory = FactoryImage { info: images.infos[0], name: &Images::name(0) };
        let mut device = Device::provision(flash, *layout, factory).unwrap();
        device.record_factory(images.infos[0], &mut [0u8; 512]).unwrap();
        let capacity = E / 64 - 1;
        for t in 0..capacity - 9 {
            device.advance_time(1_000 + t as u64).unwrap();
        }
        device.into_flash().reboot()
    }

    fn provisioned(&self) -> SimFlash<W, E> {
        self.base.reboot()
    }

    fn step(&self, device: Device<SimFlash<W, E>>, step: Step) -> (Device<SimFlash<W, E>>, Result<(), Failure>) {
        match step {
            Step::Install(n) => {
                let mut device = device;
                let result = self.install(&mut device, n);
                (device, result)
            }
            Step::Reset | Step::FaultReset => {
                let flash = device.into_flash(); // a reset, not a power cut: the counters run on
                let mut device = Device::open(flash, self.layout).unwrap();
                let cause = if let Step::FaultReset = step { ResetCause::Fault } else { ResetCause::PowerOn };
                let result = device.boot_with(&BootInputs { cause, recovery_pin: false }, &mut [0u8; 512]).map(|_| ());
                (device, result)
            }
            Step::Confirm => {
                let mut device = device;
                let result = device.confirm();
                (device, result)
            }
            Step::Healthy => {
                let mut device = device;
                let result = device.healthy();
                (device, result)
            }
            Step::RequestRecovery => {
                let mut device = device;
                let result = device.request_recovery();
                (device, result)
            }
        }
    }

    fn install(&self, device: &mut Device<SimFlash<W, E>>, n: usize) -> Result<(), Failure> {
        let mut install = device.install(self.images.infos[n], &Images::name(n))?;
        for chunk in self.images.bytes[n].chunks(self.chunk) {
            device.install_write(&mut install, chunk)?;
        }
        device.install_finish(install).map(|_| ())
    }

    /// What a reset right now would boot, with the floors and slot states that boot
    /// leaves: computed on a copy.
    fn outcome(&self, flash: &SimFlash<W, E>) -> Outcome {
        let mut device = Device::open(flash.reboot(), self.layout).unwrap();
        let decision = device.boot(&mut [0u8; 512]).unwrap();
        Outcome::of(self.booted_image(&mut device, decision), &device)
    }

    /// The image a decision boots, checked byte for byte against the original.
    fn booted_image(&self, device: &mut Device<SimFlash<W, E>>, decision: BootDecision) -> usize {
        if decision == BootDecision::Recovery {
            return RECOVERY;
        }
        if decision == BootDecision::Factory {
            let start = self.layout.factory.start as usize;
            let image = &self.images.bytes[0];
            assert_eq!(&device.flash().bytes()[start..start + image.len()], &image[..], "factory image bytes");
            return FACTORY;
        }
        let BootDecision::Boot { slot, .. } = decision else { panic!("no bootable image: {decision:?}") };
        let info = device.state().slot(slot).info.expect("a booted slot has an image");
        let n = self.images.index_of(&info);
        let start = self.layout.slots[slot.index()].start as usize;
        let flash = device.flash();
        assert_eq!(&flash.bytes()[start..start + info.length as usize], &self.images.bytes[n][..], "image {n} bytes");
        n
    }

    /// The clean run: boundary outcomes after each step and the operations of each.
    fn clean(&self) -> (Vec<Outcome>, Vec<u64>) {
        let flash = self.provisioned();
        let mut boundaries = vec![self.outcome(&flash)];
        let mut ends = Vec::new();
        let mut device = Device::open(flash, self.layout).unwrap();
        for step in SCENARIO {
            let (next, result) = self.step(device, step);
            result.unwrap();
            device = next;
            ends.push(device.flash().counters().operations);
            let copy = device.flash().reboot();
            boundaries.push(self.outcome(&copy));
        }
        (boundaries, ends)
    }

    /// Runs the scenario with power cut at `operation`; the step it stopped in, and
    /// the flash as power left it.
    fn cut(&self, operation: u64, how: Cut) -> (usize, SimFlash<W, E>) {
        let mut flash = self.provisioned();
        flash.cut_at(operation, how);
        let mut device = Device::open(flash, self.layout).unwrap();
        for (k, step) in SCENARIO.iter().enumerate() {
            let (next, result) = self.step(device, *step);
            device = next;
            if result.is_err() {
                assert!(device.flash().is_cut(), "step {k} failed without a power cut: {result:?}");
                return (k, device.into_flash());
            }
        }
        panic!("operation {operation} is past the end of the scenario");
    }

    /// Boots what power left (with an optional cut during that boot, then a clean
    /// boot), checks it against the step's boundaries, finishes an install the cut
    /// stopped, then runs a later update. The offset that install resumed from.
    fn recover(&self, left: &SimFlash<W, E>, step: usize, boundaries: &[Outcome], second: Option<(u64, Cut)>) -> u32 {
        let mut flash = left.reboot();
        if let Some((at, how)) = second {
            flash.cut_at(at, how);
            let mut device = Device::open(flash, self.layout).unwrap();
            assert!(device.boot(&mut [0u8; 512]).is_err(), "the recovery boot was cut");
            flash = device.into_flash().reboot();
        }
        let mut device = Device::open(flash, self.layout).unwrap();
        let decision = device.boot(&mut [0u8; 512]).unwrap();
        let got = Outcome::of(self.booted_image(&mut device, decision), &device);
        let (before, after) = (boundaries[step], boundaries[step + 1]);
        // An install cut short leaves the slot it was writing empty, the rest as before.
        let mut emptied = before;
        if let Step::Install(_) = SCENARIO[step] {
            for i in 0..2 {
                if before.statuses[i] != after.statuses[i] {
                    emptied.statuses[i] = SlotStatus::Empty;
                }
            }
        }
        assert!(
            got == before || got == after || got == emptied,
            "step {step}: {got:?}, expected {before:?} or {after:?} or {emptied:?}"
        );
        let trial = matches!(decision, BootDecision::Boot { trial: true, .. });
        let (device, trial, resumed) = self.finish_cut_install(device, step, trial);
        self.later_update(device, trial);
        resumed
    }

    /// Starts again the install the cut stopped in `step`, if it left the slot empty:
    /// it resumes at a sector boundary at or below what was written, and the image then
    /// boots as a trial, byte for byte. The device, whether it runs a trial, the offset.
    fn finish_cut_install(
        &self,
        device: Device<SimFlash<W, E>>,
        step: usize,
        trial: bool,
    ) -> (Device<SimFlash<W, E>>, bool, u32) {
        let mut device = device;
        let Step::Install(n) = SCENARIO[step] else { return (device, trial, 0) };
        let staging = device.staging_slot();
        if trial || staging.is_ok_and(|s| device.state().slot(s).status != SlotStatus::Empty) {
            return (device, trial, 0);
        }
        let mut install = device.install(self.images.infos[n], &Images::name(n)).unwrap();
        let from = install.received();
        assert_eq!(from % E as u32, 0, "resumes at a sector boundary");
        for chunk in self.images.bytes[n][from as usize..].chunks(self.chunk) {
            device.install_write(&mut install, chunk).unwrap();
        }
        device.install_finish(install).unwrap();
        let (mut device, result) = self.step(device, Step::Reset);
        result.unwrap();
        let slot = device.running().unwrap();
        assert_eq!(self.booted_image(&mut device, BootDecision::Boot { slot, trial: true }), n);
        (device, true, from)
    }

    /// Image 3 installs, runs as a trial, confirms, and boots from then on.
    fn later_update(&self, mut device: Device<SimFlash<W, E>>, on_trial: bool) {
        if on_trial {
            device.confirm().unwrap(); // the trial image runs well
        }
        self.install(&mut device, 3).unwrap();
        for (step, trial) in [(Step::Reset, true), (Step::Confirm, false), (Step::Reset, false)] {
            let (next, result) = self.step(device, step);
            result.unwrap();
            device = next;
            if let Step::Reset = step {
                let slot = device.running().unwrap();
                assert_eq!(device.state().slot(slot).status == SlotStatus::Trial, trial);
                let decision = BootDecision::Boot { slot, trial };
                assert_eq!(self.booted_image(&mut device, decision), 3);
            }
        }
    }

    /// Every cut point; the number tried, and how many cut installs resumed above 0.
    fn sweep(&self) -> (usize, usize) {
        let (boundaries, ends) = self.clean();
        // What a reset would boot after each step: a trial keeps its slot through three
        // runs, the fifth fault in a row sends the device to the factory image.
        let mut images = vec![0, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, FACTORY, 3, 3, 3];
        images.extend([RECOVERY, RECOVERY, 3, 3, 3]);
        assert_eq!(boundaries.iter().map(|b| b.image).collect::<Vec<_>>(), images, "clean run outcomes");
        use SlotStatus::*;
        let mut expected = vec![[Active, Empty], [Active, Trial], [Active, Trial], [Superseded, Active]];
        expected.extend([[Superseded, Active], [Trial, Active], [Trial, Active], [Trial, Active]]);
        expected.extend([[Failed, Active]; 8]);
        expected.extend([[Failed, Failed], [Trial, Failed], [Trial, Failed], [Active, Failed]]);
        expected.extend([[Active, Failed], [Active, Failed], [Active, Trial], [Active, Trial], [Superseded, Active]]);
        assert_eq!(boundaries.iter().map(|b| b.statuses).collect::<Vec<_>>(), expected, "the state table");
        let floors: Vec<u64> = boundaries.iter().map(|b| b.floors.release_counter).collect();
        let mut rising = vec![1, 1, 1];
        rising.extend([2; 16]);
        rising.extend([4; 6]);
        assert_eq!(floors, rising, "floors rise only at confirmation, and the factory image never lowers them");
        let total = *ends.last().unwrap();
        let (mut tried, mut resumed) = (0, 0);
        for operation in 0..total {
            for how in [Cut::Before, Cut::Torn] {
                let (step, left) = self.cut(operation, how);
                resumed += usize::from(self.recover(&left, step, &boundaries, None) > 0);
                tried += 1;
                let recovery_ops = {
                    let mut device = Device::open(left.reboot(), self.layout).unwrap();
                    device.boot(&mut [0u8; 512]).unwrap();
                    device.flash().counters().operations
                };
                for again in 0..recovery_ops {
                    for how2 in [Cut::Before, Cut::Torn] {
                        self.recover(&left, step, &boundaries, Some((again, how2)));
                        tried += 1;
                    }
                }
            }
        }
        (tried, resumed)
    }
}

#[test]
fn power_cut_at_every_flash_operation_leaves_a_verified_image_to_boot() {
    let runs = [
        Run::<1, 4096>::new().sweep(),
        Run::<4, 4096>::new().sweep(),
        Run::<8, 16384>::new().sweep(),
        Run::<32, 65536>::new().sweep(),
        Run::<32, 131072>::new().sweep(),
    ];
    let tried: Vec<usize> = runs.iter().map(|r| r.0).collect();
    let resumed: Vec<usize> = runs.iter().map(|r| r.1).collect();
    let total: usize = tried.iter().sum();
    println!(
        "cut points tried per geometry (write 1/4 KiB, 4/4 KiB, 8/16 KiB, 32/64 KiB, 32/128 KiB): {tried:?}, {total} in all; \
         cut installs that resumed above 0: {resumed:?}"
    );
    assert!(tried.iter().all(|&n| n > 100), "{tried:?}");
    // Images span 2.5 sectors: a cut in the last half sector resumes past two of them.
    assert!(resumed.iter().all(|&n| n > 0), "{resumed:?}");
}
