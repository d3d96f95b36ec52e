//! The littlefs store beside the application's own files: provisioning into a partition
//! that already holds a file system keeps them, the store's files stay under `uptane/`,
//! and what it reads back is what it wrote. (Power cuts: `power_cuts_secondary.rs`.)
#![cfg(feature = "littlefs")]

mod common;

use client_embedded::littlefs::LittleFs;
use client_embedded::littlefs::littlefs2::path;
use client_embedded::{Device, Ed25519EcuKey, Error, FactoryImage, Layout, MetaRole, Secondary};
use common::{Director, FACTORY, Flash, factory_info, identity};

type Partition = LittleFs<{ 32 * 1024 }, 16, false>;

fn layout() -> Layout {
    Layout::slots_only(0, 4096, 16 * 1024)
}

fn flash() -> Flash {
    let mut flash = Flash::new(8 + 16);
    flash.program(0, FACTORY);
    flash
}

fn factory() -> FactoryImage<'static> {
    FactoryImage { info: factory_info(), name: b"brake/factory.bin" }
}

#[test]
fn provisioning_into_an_existing_file_system_keeps_the_applications_files() {
    let mut flash = flash();
    // The application formatted the partition and keeps its calibration there.
    let mut device = Device::<Flash, Partition>::provision_in(flash.reboot(), layout(), factory()).unwrap();
    Partition::with(device.flash(), |fs| fs.write(path!("calibration.bin"), b"motor constants")).unwrap();
    flash = device.into_flash().reboot();
    // Provisioned again at the factory (a new director root): its files are still there.
    let director = Director::new();
    let mut device = Device::<Flash, Partition>::provision_in(flash, layout(), factory()).unwrap();
    Secondary::<Flash, Ed25519EcuKey, Partition>::provision_root(
        &mut device,
        &identity(),
        &director.root(),
        &mut [0; 16384],
    )
    .unwrap();
    let kept = Partition::with(device.flash(), |fs| fs.read::<64>(path!("calibration.bin"))).unwrap();
    assert_eq!(&kept[..], b"motor constants");
    let mut buffer = vec![0u8; 16384];
    let len = device.load_metadata(MetaRole::DirectorRoot, &mut buffer).unwrap().unwrap();
    assert_eq!(&buffer[..len], &director.root()[..]);
}

#[test]
fn a_role_larger_than_the_buffer_and_a_role_not_kept_are_errors_not_truncations() {
    let mut device = Device::<Flash, Partition>::provision_in(flash(), layout(), factory()).unwrap();
    device.save_metadata(MetaRole::DirectorTargets, &[b'x'; 3000], &mut []).unwrap();
    let mut small = [0u8; 1000];
    assert!(matches!(device.load_metadata(MetaRole::DirectorTargets, &mut small), Err(Error::BufferTooSmall)));
    assert!(!device.keeps(MetaRole::ImageRoot), "a partial-verification store keeps no image repository roles");
    assert!(matches!(device.save_metadata(MetaRole::ImageRoot, b"{}", &mut []), Err(Error::MetadataTooLarge)));
    assert_eq!(device.load_metadata(MetaRole::ImageRoot, &mut small).unwrap(), None);
}

#[test]
fn an_unformatted_partition_is_not_provisioned() {
    let result = Device::<Flash, Partition>::open_in(flash(), layout());
    assert!(matches!(result, Err(Error::NotProvisioned)), "{:?}", result.err());
}

#[test]
fn a_partition_overlapping_a_slot_is_refused() {
    let overlapping = Layout::slots_only(0, 4096, 40 * 1024);
    let result = Device::<Flash, Partition>::provision_in(Flash::new(8 + 16), overlapping, factory());
    assert!(matches!(result, Err(Error::Layout(client_embedded::LayoutError::Overlap(..)))), "{:?}", result.err());
}
