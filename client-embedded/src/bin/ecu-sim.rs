//! `ecu-sim`: one simulated secondary ECU over TCP (see `client_embedded::ecu_sim`).

fn main() -> std::process::ExitCode {
    client_embedded::ecu_sim::main()
}
