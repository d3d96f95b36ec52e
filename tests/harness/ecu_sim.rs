//! The vehicle tests' secondary: client-embedded's `ecu-sim`, built inside this package so
//! the tests can start it (`CARGO_BIN_EXE_harness-ecu-sim`).

fn main() -> std::process::ExitCode {
    client_embedded::ecu_sim::main()
}
