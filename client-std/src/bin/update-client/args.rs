//! The command line of the common TUF client contract: global `--name value` options
//! in any order before the command; `--target-name` may repeat, in order.

use std::path::PathBuf;

/// A parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub metadata_dir: Option<PathBuf>,
    pub metadata_url: Option<String>,
    pub target_dir: Option<PathBuf>,
    pub target_base_url: Option<String>,
    pub target_names: Vec<String>,
    pub ca_bundle: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Slowest transfer accepted, bytes per second (slow retrieval).
    pub min_rate: Option<u64>,
    /// Seconds over which that rate is averaged.
    pub rate_window: Option<u64>,
    pub command: Command,
}

/// What to do.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum Command {
    /// Copy a trusted root into the metadata directory.
    Init(PathBuf),
    /// Refresh the top-level metadata.
    Refresh,
    /// Refresh, then download targets.
    Download,
    /// Print help.
    #[default]
    Help,
}

fn number(name: &str, value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| format!("--{name} takes a whole number, not {value:?}"))
}

/// Parses `argv` (without the program name).
pub fn parse(argv: &[String]) -> Result<Args, String> {
    let mut args = Args::default();
    let mut rest = argv.iter();
    let mut command = None;
    while let Some(arg) = rest.next() {
        if arg == "--help" || arg == "-h" {
            return Ok(Args { command: Command::Help, ..Args::default() });
        }
        if let Some(name) = arg.strip_prefix("--") {
            let value = rest.next().ok_or_else(|| format!("--{name} needs a value"))?.clone();
            match name {
                "metadata-dir" => args.metadata_dir = Some(value.into()),
                "metadata-url" => args.metadata_url = Some(value),
                "target-dir" => args.target_dir = Some(value.into()),
                "target-base-url" => args.target_base_url = Some(value),
                "target-name" => args.target_names.push(value),
                "ca-bundle" => args.ca_bundle = Some(value.into()),
                "client-cert" => args.client_cert = Some(value.into()),
                "client-key" => args.client_key = Some(value.into()),
                "min-rate" => args.min_rate = Some(number(name, &value)?),
                "rate-window" => args.rate_window = Some(number(name, &value)?).filter(|s| *s > 0),
                other => return Err(format!("unknown option --{other}")),
            }
            continue;
        }
        if command.is_some() {
            return Err(format!("unexpected argument {arg:?}"));
        }
        command = Some(match arg.as_str() {
            "init" => Command::Init(rest.next().ok_or("init needs TRUSTED_ROOT_FILE")?.into()),
            "refresh" => Command::Refresh,
            "download" => Command::Download,
            "help" => Command::Help,
            other => return Err(format!("unknown command {other:?}")),
        });
    }
    args.command = command.ok_or("no command given (init, refresh or download)")?;
    Ok(args)
}

pub const HELP: &str = "\
update-client: a TUF client (the common TUF client contract)

USAGE:
    update-client [OPTIONS] <COMMAND>

Options are global, come before or after the command in any order, and take a value.

COMMANDS:
    init TRUSTED_ROOT_FILE   Copy a trusted root into the metadata directory (no network).
        update-client --metadata-dir md init root.json

    refresh                  Update the top-level metadata (root, timestamp, snapshot, targets).
        update-client --metadata-url https://repo.example/metadata/ --metadata-dir md refresh

    download                 Refresh, then download and verify targets, in the order given.
        update-client --metadata-url https://repo.example/metadata/ --metadata-dir md \\
                      --target-name fw/app-2.1.bin --target-dir td \\
                      --target-base-url https://repo.example/targets/ download

    primary --config FILE    The Uptane primary: update cycles for the vehicle the file
                             describes (see `update-client primary --help`).
        update-client primary --config /etc/uptane/primary.json --until-done

    offline --config FILE --bundle DIR
                             Apply an offline bundle (USB stick, SD card) with the checks of
                             an online update (see `update-client offline --help`).
        update-client offline --config /etc/uptane/primary.json --bundle /media/usb/bundle

    status --config FILE     What the primary runs, each hardware id's security support
                             (supported, ending, ended), whether it is decommissioned;
                             offline (see `update-client status --help`).
        update-client status --config /etc/uptane/primary.json --json

OPTIONS:
    --metadata-dir DIR        Trusted metadata directory (holds root.json after init)
    --metadata-url URL        Metadata base URL, ending in '/' (http://, https:// or file://)
    --target-dir DIR          Where downloaded targets are stored
    --target-base-url URL     Targets base URL, ending in '/'
    --target-name PATH        A target to download (repeatable)
    --ca-bundle FILE          PEM CA certificates to trust instead of the web PKI roots
    --client-cert FILE        PEM client certificate chain for mutual TLS
    --client-key FILE         PEM private key of the client certificate
    --min-rate BYTES          Slowest transfer accepted, bytes per second averaged over the
                              rate window (default 1024; 0 accepts any): slow retrieval fails
    --rate-window SECONDS     How long a transfer is watched before its rate counts (default 30)
    -h, --help                This help

Exit status is 0 on success and 1 on any failure. Set RUST_LOG=info (or debug) for
progress on stderr.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_are_global_and_order_independent() {
        let a = parse(&argv(
            "--metadata-dir md --target-name b --metadata-url u/ download --target-name a --target-dir td",
        ));
        let a = a.unwrap();
        assert_eq!(a.command, Command::Download);
        assert_eq!(a.target_names, ["b", "a"]);
        assert_eq!(a.metadata_url.as_deref(), Some("u/"));
    }

    #[test]
    fn usage_errors_are_reported() {
        assert!(parse(&argv("--metadata-dir")).is_err());
        assert!(parse(&argv("--bogus x refresh")).is_err());
        assert!(parse(&argv("refresh refresh")).is_err());
        assert!(parse(&argv("init")).is_err());
        assert!(parse(&argv("")).is_err());
        assert_eq!(
            parse(&argv("--metadata-dir md init root.json")).unwrap().command,
            Command::Init("root.json".into())
        );
    }
}
