//! Power cuts through the whole secondary: an attested time taken, director targets
//! verified and kept, the
//! image streamed, trial boot, confirm, then a second update whose trial never
//! confirms and reverts. Power is cut before and in the middle of every flash
//! operation; after each cut the device boots the image of the last or the next step
//! boundary, byte for byte, its kept metadata still verifies, and a later update
//! installs and confirms. The same run for each store: the raw-flash one, and with the
//! `littlefs` feature the littlefs partition.

mod common;

use std::marker::PhantomData;

use client_embedded::sim::Cut;
use client_embedded::{Device, Ed25519EcuKey, FactoryImage, Floors, Layout, RawStore, Secondary, SlotStatus, Store};
use common::{Director, FACTORY, Flash, SEED, factory_info, identity, now};
use update_verifier::Limits;

/// A store under test, with the layout it runs in.
trait Backend: Store<Flash> {
    fn layout() -> Layout;
    /// Flash sectors the layout (and the store) needs.
    fn sectors() -> usize;
}

impl Backend for RawStore {
    fn layout() -> Layout {
        common::layout()
    }
    fn sectors() -> usize {
        common::layout().end() as usize / 4096
    }
}

/// Slots of 16 KiB, then a littlefs partition of 16 blocks.
#[cfg(feature = "littlefs")]
type LittleFs = client_embedded::littlefs::LittleFs<{ 32 * 1024 }, 16, false>;

#[cfg(feature = "littlefs")]
impl Backend for LittleFs {
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

const SCENARIO: [Step; 10] = [
    Step::Time,
    Step::Metadata(1),
    Step::Image(1),
    Step::Reset,
    Step::Confirm,
    Step::Reset,
    Step::Metadata(2),
    Step::Image(2),
    Step::Reset,
    Step::Reset, // image 2 never confirmed: revert
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    image: usize,
    floors: Floors,
    statuses: [SlotStatus; 2],
    /// The trusted time: the old or the attested one, never another.
    time: u64,
}

struct Run<S> {
    director: Director,
    images: Vec<Vec<u8>>,
    targets: Vec<Vec<u8>>,
    /// What travels for each image: the image, or its ciphertext when encrypted.
    wire: Vec<Vec<u8>>,
    /// Whether images are encrypted (the ECU then has its decryption key and requires it).
    encrypted: bool,
    base: Flash,
    store: PhantomData<S>,
}

const DECRYPTION_SECRET: [u8; 32] = [0x42; 32];

type Failure = client_embedded::UpdateError<client_embedded::sim::SimError>;

impl<S: Backend> Run<S> {
    fn new(encrypted: bool) -> Self {
        let mut director = Director::new();
        let images: Vec<Vec<u8>> = std::iter::once(FACTORY.to_vec())
            .chain((1..4u32).map(|n| (0..9000 + n).map(|i| (i * 7 + n) as u8).collect()))
            .collect();
        let (mut targets, mut wire) = (vec![Vec::new()], vec![FACTORY.to_vec()]);
        let ecu_public = image_crypto::EcuDecryptionKey::from_secret(DECRYPTION_SECRET).public();
        for (n, image) in images.iter().enumerate().skip(1) {
            let entry = ("brake-ecu-1", "brake-hw-a", n as u64 + 1);
            let (t, w) = if encrypted {
                director.assign_encrypted(image, entry, &ecu_public, "brake-ecu-1")
            } else {
                (director.assign(image, entry.0, entry.1, entry.2), image.clone())
            };
            targets.push(t);
            wire.push(w);
        }
        let base = Self::provision(&director);
        Run { director, images, targets, wire, encrypted, base, store: PhantomData }
    }

    /// A provisioned ECU's flash: the factory image, the director's root.
    fn provision(director: &Director) -> Flash {
        let mut flash = Flash::new(S::sectors());
        flash.program(S::layout().slots[0].start as usize, FACTORY);
        let factory = FactoryImage { info: factory_info(), name: b"brake/factory.bin" };
        let mut device = Device::<Flash, S>::provision_in(flash, S::layout(), factory).unwrap();
        Ecu::<S>::provision_root(&mut device, &identity(), &director.root(), &mut vec![0; 16384]).unwrap();
        device.into_flash().reboot()
    }

    /// A power-up: the boot decision, then the application. The flash back if the
    /// boot was cut.
    fn open(&self, flash: Flash) -> Result<Ecu<S>, Flash> {
        let mut device = Device::<Flash, S>::open_in(flash, S::layout()).unwrap();
        if device.boot(&mut [0u8; 512]).is_err() {
            return Err(device.into_flash());
        }
        let ecu = Secondary::open(device, identity(), Ed25519EcuKey::from_seed(&SEED), Limits::default());
        Ok(match self.encrypted {
            true => ecu.with_decryption_key(image_crypto::EcuDecryptionKey::from_secret(DECRYPTION_SECRET), true),
            false => ecu,
        })
    }

    /// One step; the flash as left if it failed.
    fn step(&self, mut ecu: Ecu<S>, step: Step) -> Result<Ecu<S>, Flash> {
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
            Step::Image(n) => (|| {
                ecu.begin_image()?;
                for chunk in self.wire[n].chunks(256) {
                    ecu.put_chunk(chunk)?;
                }
                ecu.activate()
            })(),
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

    fn outcome(&self, flash: &Flash) -> Outcome {
        let mut ecu = self.open(flash.reboot()).unwrap_or_else(|_| panic!("boots"));
        self.observe(&mut ecu)
    }

    fn observe(&self, ecu: &mut Ecu<S>) -> Outcome {
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
    fn cut(&self, operation: u64, how: Cut) -> (usize, Flash) {
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

    fn recover(&self, left: &Flash, step: usize, boundaries: &[Outcome]) {
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
        if ecu.on_trial() {
            ecu.confirm().unwrap();
        }
        // A later update: the kept metadata still loads and verifies.
        let scratch = &mut vec![0u8; 16384];
        ecu.start_cycle(now().timestamp() as u64, scratch).unwrap();
        assert!(ecu.put_targets(&self.targets[3], scratch).unwrap().is_some());
        ecu.begin_image().unwrap();
        for chunk in self.wire[3].chunks(1000) {
            ecu.put_chunk(chunk).unwrap();
        }
        ecu.activate().unwrap();
        let mut ecu = self.open(ecu.into_device().into_flash()).unwrap_or_else(|_| panic!("boots"));
        assert!(ecu.on_trial());
        ecu.confirm().unwrap();
        let mut ecu = self.open(ecu.into_device().into_flash()).unwrap_or_else(|_| panic!("boots"));
        assert_eq!(self.observe(&mut ecu).image, 3);
    }
}

type Ecu<S> = Secondary<Flash, Ed25519EcuKey, S>;

#[test]
fn power_cut_at_every_operation_of_a_verified_update_leaves_a_verified_image_to_boot() {
    sweep::<RawStore>(false);
}

#[test]
fn power_cut_at_every_operation_of_an_encrypted_update_leaves_a_verified_image_to_boot() {
    sweep::<RawStore>(true);
}

#[cfg(feature = "littlefs")]
#[test]
fn power_cut_at_every_operation_of_a_verified_update_with_the_littlefs_store_leaves_a_verified_image_to_boot() {
    sweep::<LittleFs>(false);
}

/// The scenario with a cut before and torn inside every flash operation, each followed
/// by a recovery and a later update.
fn sweep<S: Backend>(encrypted: bool) {
    let run = Run::<S>::new(encrypted);
    let (boundaries, total) = run.clean();
    assert_eq!(boundaries.iter().map(|b| b.image).collect::<Vec<_>>(), [0, 0, 0, 1, 0, 1, 1, 1, 2, 1, 1]);
    assert!(boundaries[1].time > boundaries[0].time, "the attested time was taken");
    let mut tried = 0;
    for operation in 0..total {
        for how in [Cut::Before, Cut::Torn] {
            let (step, left) = run.cut(operation, how);
            run.recover(&left, step, &boundaries);
            tried += 1;
        }
    }
    println!("{tried} cut points through time, metadata, image, trial, confirm and revert ({total} operations)");
    assert!(tried > 150, "{tried}");
}
