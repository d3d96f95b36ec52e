//! Power cuts through the whole secondary: an attested time taken, director targets
//! verified and kept, the
//! image streamed, trial boot, confirm, then a second update whose three trial runs
//! never confirm, so it reverts. Power is cut before and in the middle of every flash
//! operation; after each cut the device boots the image of the last or the next step
//! boundary, byte for byte, its kept metadata still verifies, and a later update
//! installs and confirms. An image install the cut stopped, started again, resumes past
//! the sectors it had written (an encrypted image's content key unwrapped again, never
//! kept in flash; its decryption and chunk index seek to the offset) and boots byte for
//! byte. The same run for each store: the raw-flash one, and with the `littlefs` feature
//! the littlefs partition; encrypted images on each of the device sweep's geometries.

mod common;

use std::marker::PhantomData;

use client_embedded::sim::{Cut, SimFlash};
use client_embedded::{Device, Ed25519EcuKey, FactoryImage, Floors, Layout, RawStore, Secondary, SlotStatus, Store};
use common::{Director, FACTORY, SEED, factory_info, identity, now};
use update_verifier::Limits;

/// A store under test on a flash of `W`-byte words and `E`-byte sectors, with the
/// layout it runs in.
trait Backend<const W: usize, const E: usize>: Store<SimFlash<W, E>> {
    fn layout() -> Layout;
    /// Flash sectors the layout (and the store) needs.
    fn sectors() -> usize;
}

/// Slots of three sectors, metadata copies of at least 16 KiB.
impl<const W: usize, const E: usize> Backend<W, E> for RawStore {
    fn layout() -> Layout {
        let metadata = (16384u32).div_ceil(E as u32) * E as u32;
        Layout::contiguous(0, E as u32, 3 * E as u32, E as u32, metadata, false)
    }
    fn sectors() -> usize {
        <Self as Backend<W, E>>::layout().end() as usize / E
    }
}

/// Slots of 16 KiB, then a littlefs partition of 16 blocks.
#[cfg(feature = "littlefs")]
type LittleFs = client_embedded::littlefs::LittleFs<{ 32 * 1024 }, 16, false>;

#[cfg(feature = "littlefs")]
impl Backend<8, 4096> for LittleFs {
    fn layout() -> Layout {
        Layout::slots_only(0, 4096, 16 * 1024)
    }
    fn sectors() -> usize {
        8 + 16
    }
}

#[derive(Clone, Copy, Debug)]
enum Step {
    /// A version report, then the director's time attestation for its nonce.
    Time,
    /// Start a cycle and verify director targets `n`.
    Metadata(usize),
    /// Stream image `n` and activate it.
    Image(usize),
    Reset,
    Confirm,
}

const SCENARIO: [Step; 12] = [
    Step::Time,
    Step::Metadata(1),
    Step::Image(1),
    Step::Reset,
    Step::Confirm,
    Step::Reset,
    Step::Metadata(2),
    Step::Image(2),
    Step::Reset,
    Step::Reset,
    Step::Reset,
    Step::Reset, // image 2 ran its three trials and never confirmed: revert
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    image: usize,
    floors: Floors,
    statuses: [SlotStatus; 2],
    /// The trusted time: the old or the attested one, never another.
    time: u64,
}

struct Run<S, const W: usize, const E: usize> {
    director: Director,
    images: Vec<Vec<u8>>,
    targets: Vec<Vec<u8>>,
    /// What travels for each image: the image, or its ciphertext when encrypted.
    wire: Vec<Vec<u8>>,
    /// Each encrypted image's chunk index.
    indexes: Vec<Option<Vec<u8>>>,
    /// Whether images are encrypted (the ECU then has its decryption key and requires it).
    encrypted: bool,
    base: SimFlash<W, E>,
    store: PhantomData<S>,
}

const DECRYPTION_SECRET: [u8; 32] = [0x42; 32];
/// Chunks of the encrypted images' index.
const CHUNK_SIZE: u32 = 4096;

type Failure = client_embedded::UpdateError<client_embedded::sim::SimError>;
type Ecu<S, const W: usize, const E: usize> = Secondary<SimFlash<W, E>, Ed25519EcuKey, S>;

impl<S: Backend<W, E>, const W: usize, const E: usize> Run<S, W, E> {
    /// Images of one and a half sectors and a bit (the factory image aside), so a cut
    /// late in an install leaves a whole sector to resume past.
    fn new(encrypted: bool) -> Self {
        let mut director = Director::new();
        let len = E + E / 2 + 13;
        let images: Vec<Vec<u8>> = std::iter::once(FACTORY.to_vec())
            .chain((1..4u32).map(|n| (0..len as u32 + n).map(|i| (i * 7 + n) as u8).collect()))
            .collect();
        let (mut targets, mut wire, mut indexes) = (vec![Vec::new()], vec![FACTORY.to_vec()], vec![None]);
        let ecu_public = image_crypto::EcuDecryptionKey::from_secret(DECRYPTION_SECRET).public();
        for (n, image) in images.iter().enumerate().skip(1) {
            let entry = ("brake-ecu-1", "brake-hw-a", n as u64 + 1);
            let (t, w, index) = if encrypted {
                let (t, w, index) = director.assign_encrypted_chunked(image, entry, &ecu_public, CHUNK_SIZE);
                (t, w, Some(index))
            } else {
                (director.assign(image, entry.0, entry.1, entry.2), image.clone(), None)
            };
            targets.push(t);
            wire.push(w);
            indexes.push(index);
        }
        let base = Self::provision(&director);
        Run { director, images, targets, wire, indexes, encrypted, base, store: PhantomData }
    }

    /// A provisioned ECU's flash: the factory image, the director's root.
    fn provision(director: &Director) -> SimFlash<W, E> {
        let mut flash = SimFlash::new(S::sectors());
        flash.program(S::layout().slots[0].start as usize, FACTORY);
        let factory = FactoryImage { info: factory_info(), name: b"brake/factory.bin" };
        let mut device = Device::<_, S>::provision_in(flash, S::layout(), factory).unwrap();
        Ecu::<S, W, E>::provision_root(&mut device, &identity(), &director.root(), &mut vec![0; 16384]).unwrap();
        device.into_flash().reboot()
    }

    /// A power-up: the boot decision, then the application. The flash back if the
    /// boot was cut.
    fn open(&self, flash: SimFlash<W, E>) -> Result<Ecu<S, W, E>, SimFlash<W, E>> {
        let mut device = Device::<_, S>::open_in(flash, S::layout()).unwrap();
        if device.boot(&mut [0u8; 512]).is_err() {
            return Err(device.into_flash());
        }
        let ecu = Secondary::open(device, identity(), Ed25519EcuKey::from_seed(&SEED), Limits::default());
        Ok(match self.encrypted {
            true => ecu.with_decryption_key(image_crypto::EcuDecryptionKey::from_secret(DECRYPTION_SECRET), true),
            false => ecu,
        })
    }

    /// Streams image `n` from where the ECU asks and activates it: the offset it
    /// resumed from.
    fn send_image(&self, ecu: &mut Ecu<S, W, E>, n: usize) -> Result<u32, Failure> {
        if let Some(index) = &self.indexes[n] {
            ecu.put_chunk_index(index)?;
        }
        let from = ecu.begin_image()?;
        for chunk in self.wire[n][from as usize..].chunks((E / 16).max(256)) {
            ecu.put_chunk(chunk)?;
        }
        ecu.activate()?;
        Ok(from)
    }

    /// One step; the flash as left if it failed.
    fn step(&self, mut ecu: Ecu<S, W, E>, step: Step) -> Result<Ecu<S, W, E>, SimFlash<W, E>> {
        let scratch = &mut vec![0u8; 16384];
        let result: Result<(), Failure> = match step {
            Step::Time => ecu.version_report().and_then(|report| {
                let nonce = common::nonce_of(&report);
                ecu.start_cycle(now().timestamp() as u64, scratch)?;
                ecu.put_time(&self.director.attest(now() + chrono::Duration::days(1), &[nonce]), scratch)
            }),
            Step::Metadata(n) => ecu
                .start_cycle(now().timestamp() as u64, scratch)
                .and_then(|()| ecu.put_targets(&self.targets[n], scratch).map(|_| ())),
            Step::Image(n) => self.send_image(&mut ecu, n).map(|_| ()),
            Step::Confirm => ecu.confirm(),
            Step::Reset => return self.open(ecu.into_device().into_flash()), // the flash keeps counting
        };
        match result {
            Ok(()) => Ok(ecu),
            Err(e) => {
                let flash = ecu.into_device().into_flash();
                assert!(flash.is_cut(), "{step:?} failed without a power cut: {e:?}");
                Err(flash)
            }
        }
    }

    fn outcome(&self, flash: &SimFlash<W, E>) -> Outcome {
        let mut ecu = self.open(flash.reboot()).unwrap_or_else(|_| panic!("boots"));
        self.observe(&mut ecu)
    }

    fn observe(&self, ecu: &mut Ecu<S, W, E>) -> Outcome {
        let device = ecu.device();
        let slot = device.running().expect("an image runs");
        let info = device.state().slot(slot).info.unwrap();
        let start = S::layout().slots[slot.index()].start as usize;
        let bytes = device.flash().bytes()[start..start + info.length as usize].to_vec();
        let image = self.images.iter().position(|i| *i == bytes).expect("a known image, byte for byte");
        let state = device.state();
        let statuses = [state.slots[0].status, state.slots[1].status];
        Outcome { image, floors: state.floors, statuses, time: state.latest_time }
    }

    fn clean(&self) -> (Vec<Outcome>, u64) {
        let mut ecu = self.open(self.base.reboot()).unwrap_or_else(|_| panic!("boots"));
        let start = ecu.device().flash().counters().operations;
        let mut boundaries = vec![self.outcome(ecu.device().flash())];
        for step in SCENARIO {
            ecu = self.step(ecu, step).unwrap_or_else(|_| panic!("the clean run"));
            boundaries.push(self.outcome(ecu.device().flash()));
        }
        (boundaries, ecu.device().flash().counters().operations - start)
    }

    /// Runs the scenario with a cut at `operation` (counted from the end of the first
    /// boot); the step it stopped in and the flash as left.
    fn cut(&self, operation: u64, how: Cut) -> (usize, SimFlash<W, E>) {
        let mut ecu = self.open(self.base.reboot()).unwrap_or_else(|_| panic!("boots"));
        let start = ecu.device().flash().counters().operations;
        ecu.device().flash().cut_at(start + operation, how);
        for (k, step) in SCENARIO.iter().enumerate() {
            match self.step(ecu, *step) {
                Ok(next) => ecu = next,
                Err(flash) => return (k, flash),
            }
        }
        panic!("operation {operation} is past the scenario");
    }

    /// Boots what power left and checks it against the step's boundaries, finishes an
    /// image install the cut stopped, then runs a later update. The offset that install
    /// resumed from.
    fn recover(&self, left: &SimFlash<W, E>, step: usize, boundaries: &[Outcome]) -> u32 {
        let mut ecu = self.open(left.reboot()).unwrap_or_else(|_| panic!("boots after the cut"));
        let got = self.observe(&mut ecu);
        let (before, after) = (boundaries[step], boundaries[step + 1]);
        let mut emptied = before;
        if let Step::Image(_) = SCENARIO[step] {
            for i in 0..2 {
                if before.statuses[i] != after.statuses[i] {
                    emptied.statuses[i] = SlotStatus::Empty;
                }
            }
        }
        assert!(
            got == before || got == after || got == emptied,
            "step {step}: {got:?}, expected {before:?} or {after:?}"
        );
        let (mut ecu, resumed) = self.finish_cut_install(ecu, step);
        if ecu.on_trial() {
            ecu.confirm().unwrap();
        }
        self.install_and_confirm(ecu, 3);
        resumed
    }

    /// The image install the cut stopped in `step`, started again if it left the slot
    /// empty: from a sector boundary at or below what was written, then booted as a
    /// trial, byte for byte. The ECU and the offset it resumed from.
    fn finish_cut_install(&self, mut ecu: Ecu<S, W, E>, step: usize) -> (Ecu<S, W, E>, u32) {
        let Step::Image(n) = SCENARIO[step] else { return (ecu, 0) };
        let other = ecu.device().running().unwrap().other();
        if ecu.on_trial() || ecu.device().state().slot(other).status != SlotStatus::Empty {
            return (ecu, 0);
        }
        let scratch = &mut vec![0u8; 16384];
        ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
        assert!(ecu.put_targets(&self.targets[n], scratch).unwrap().is_some());
        let from = self.send_image(&mut ecu, n).unwrap();
        assert_eq!(from % E as u32, 0, "resumes at a sector boundary");
        let mut ecu = self.open(ecu.into_device().into_flash()).unwrap_or_else(|_| panic!("boots"));
        assert!(ecu.on_trial());
        assert_eq!(self.observe(&mut ecu).image, n, "the resumed image boots, byte for byte");
        (ecu, from)
    }

    /// A later update: the kept metadata still loads and verifies; image `n` installs,
    /// runs as a trial, confirms and boots.
    fn install_and_confirm(&self, mut ecu: Ecu<S, W, E>, n: usize) {
        let scratch = &mut vec![0u8; 16384];
        ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
        assert!(ecu.put_targets(&self.targets[n], scratch).unwrap().is_some());
        self.send_image(&mut ecu, n).unwrap();
        let mut ecu = self.open(ecu.into_device().into_flash()).unwrap_or_else(|_| panic!("boots"));
        assert!(ecu.on_trial());
        ecu.confirm().unwrap();
        let mut ecu = self.open(ecu.into_device().into_flash()).unwrap_or_else(|_| panic!("boots"));
        assert_eq!(self.observe(&mut ecu).image, n);
    }

    /// The scenario with a cut before and torn inside every flash operation, each
    /// followed by a recovery and a later update: the cuts tried, and how many image
    /// installs resumed above 0.
    fn sweep(encrypted: bool) -> (usize, usize) {
        let run = Self::new(encrypted);
        let (boundaries, total) = run.clean();
        assert_eq!(boundaries.iter().map(|b| b.image).collect::<Vec<_>>(), [0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1]);
        assert!(boundaries[1].time > boundaries[0].time, "the attested time was taken");
        let (mut tried, mut resumed) = (0, 0);
        for operation in 0..total {
            for how in [Cut::Before, Cut::Torn] {
                let (step, left) = run.cut(operation, how);
                resumed += usize::from(run.recover(&left, step, &boundaries) > 0);
                tried += 1;
            }
        }
        assert!(tried > 100, "{tried}");
        assert!(resumed > 0, "no cut install resumed");
        (tried, resumed)
    }
}

#[test]
fn power_cut_at_every_operation_of_a_verified_update_leaves_a_verified_image_to_boot() {
    let (tried, resumed) = Run::<RawStore, 8, 4096>::sweep(false);
    println!("{tried} cut points through time, metadata, image, trial, confirm and revert; {resumed} resumed");
}

/// Every geometry of the device sweep (write/sector: 1/4 KiB, 4/4 KiB, 8/16 KiB,
/// 32/64 KiB, 32/128 KiB), an encrypted image with a chunk index on each.
#[test]
fn power_cut_at_every_operation_of_an_encrypted_update_leaves_a_verified_image_to_boot() {
    let runs = [
        Run::<RawStore, 1, 4096>::sweep(true),
        Run::<RawStore, 4, 4096>::sweep(true),
        Run::<RawStore, 8, 16384>::sweep(true),
        Run::<RawStore, 32, 65536>::sweep(true),
        Run::<RawStore, 32, 131072>::sweep(true),
    ];
    println!("cut points tried and installs resumed per geometry (1/4K, 4/4K, 8/16K, 32/64K, 32/128K): {runs:?}");
}

#[cfg(feature = "littlefs")]
#[test]
fn power_cut_at_every_operation_of_a_verified_update_with_the_littlefs_store_leaves_a_verified_image_to_boot() {
    let (tried, resumed) = Run::<LittleFs, 8, 4096>::sweep(false);
    println!("{tried} cut points with the littlefs store; {resumed} resumed");
}
