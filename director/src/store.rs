//! The director's storage: one store over SQLite (the default: one file, WAL, no setup)
//! and PostgreSQL (several director processes sharing one database), through sqlx's
//! `Any` driver and one migration folder whose SQL both accept.
//!
//! Reads go through a read pool; every change goes through [`Tx`], one database
//! transaction that commits whole or not at all. With SQLite the write pool holds a
//! single connection, so writers queue in-process instead of failing on a busy lock;
//! with PostgreSQL a vehicle's row is locked (`FOR UPDATE`) for the length of the
//! transaction, so two manifests for one vehicle apply in order across processes.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Row};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

use crate::config::Role;
use crate::decommission::DecommissionState;
use metadata_schemas::uptane::{BootState, InstallResult};

/// Which database the store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A storage failure.
#[derive(Debug)]
pub enum StoreError {
    /// The row to create exists already.
    Conflict(String),
    /// The database failed.
    Database(sqlx::Error),
    /// A stored value is not one this director writes.
    Corrupt(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(what) => write!(f, "{what} exists already"),
            StoreError::Database(e) => write!(f, "database: {e}"),
            StoreError::Corrupt(what) => write!(f, "database holds an unknown {what}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// A registered vehicle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vehicle {
    /// Its vehicle identification number.
    pub vin: String,
    /// The primary ECU, whose key signs the vehicle's manifests.
    pub primary_serial: String,
    /// SHA-256 (hex) of its device token.
    pub token_hash: String,
    /// When it was registered (Unix seconds).
    pub registered: i64,
    /// The last accepted manifest.
    pub manifest: Option<String>,
    /// When it was accepted.
    pub manifest_time: i64,
    /// The latest time its ECUs reported.
    pub reported_time: i64,
    /// Current director metadata versions and the timestamp's expiry.
    pub targets_version: i64,
    /// The snapshot version.
    pub snapshot_version: i64,
    /// The timestamp version.
    pub timestamp_version: i64,
    /// When the timestamp expires (Unix seconds).
    pub timestamp_expires: i64,
    /// Where its decommissioning stands.
    pub decommission: DecommissionState,
}

/// What a device's metadata request needs of its vehicle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VehicleFile {
    /// SHA-256 (hex) of its device token.
    pub token_hash: String,
    /// When its timestamp expires (Unix seconds).
    pub timestamp_expires: i64,
    /// Where its decommissioning stands.
    pub decommission: DecommissionState,
    /// The file asked for, if it has it.
    pub bytes: Option<String>,
}

/// One of a vehicle's ECUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ecu {
    /// Its serial.
    pub serial: String,
    /// Its hardware identifier.
    pub hardware_id: String,
    /// Its public key (TUF key JSON).
    pub public_key: String,
    /// "partial" or "full".
    pub verification: String,
    /// The last accepted report counter (-1 before the first).
    pub report_counter: i64,
    /// The latest time its last accepted report gave (Unix seconds).
    pub reported_time: i64,
    /// The installed image from the last accepted report (JSON).
    pub installed: Option<String>,
    /// The attack code it last reported.
    pub attack: i64,
    /// What its last report said of its install.
    pub status: Option<EcuStatus>,
}

/// An ECU's boot state and how its last install ended, as its last report said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcuStatus {
    /// Trial or confirmed.
    pub boot_state: BootState,
    /// How the last install ended.
    pub install_result: Option<InstallResult>,
}

impl EcuStatus {
    /// As the API shows it.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({"boot_state": self.boot_state.as_str(), "install_result": self.install_result.map(|r| r.code())})
    }
}

/// What one accepted report changes in its ECU's row.
#[derive(Clone, Debug)]
pub struct EcuUpdate<'a> {
    /// The ECU.
    pub serial: &'a str,
    /// Its report counter.
    pub counter: i64,
    /// Its reported time.
    pub time: i64,
    /// The installed image (canonical JSON).
    pub installed: &'a str,
    /// The attack code.
    pub attack: i64,
    /// `trial` or `confirmed`, if the report says.
    pub boot_state: Option<&'static str>,
    /// How its last install ended, if the report says.
    pub install_result: Option<String>,
    /// The image it replaced or went back from, if the report says.
    pub previous_image: Option<&'a str>,
    /// The installed image's path.
    pub installed_path: &'a str,
}

/// A vehicle event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Order within the vehicle.
    pub seq: i64,
    /// When (Unix seconds).
    pub time: i64,
    /// What kind.
    pub kind: String,
    /// Details (JSON).
    pub detail: String,
}

/// An audit log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (Unix seconds).
    pub time: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Details (JSON).
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// SHA-256 over the previous hash and this entry.
    pub hash: String,
}

impl AuditEntry {
    /// The hash an entry must carry: SHA-256 over the previous hash and its fields.
    pub fn compute_hash(prev_hash: &str, seq: i64, time: i64, actor: &str, action: &str, detail: &str) -> String {
        let text = format!("{prev_hash}\n{seq}\n{time}\n{actor}\n{action}\n{detail}");
        metadata_schemas::hex::encode(&threshold_keys::digest::sha256(text.as_bytes()))
    }
}

/// An `events` row (seq, time, kind, detail).
fn event_row(r: &sqlx::any::AnyRow) -> Result<Event> {
    Ok(Event {
        seq: r.try_get("seq")?,
        time: r.try_get("time")?,
        kind: r.try_get("kind")?,
        detail: r.try_get("detail")?,
    })
}

/// An `audit` row (every column).
fn audit_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        time: r.try_get("time")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// The database.
#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
}

/// The migrations, built into the binary. (sqlx's `migrate!` macro would do the same, but
/// its proc-macro crate compiles all of sqlx a second time for the host.)
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "admin tokens", include_str!("../migrations/0002_admin_tokens.sql")),
    (3, "encryption", include_str!("../migrations/0003_encryption.sql")),
    (4, "inventory", include_str!("../migrations/0004_inventory.sql")),
    (5, "install status", include_str!("../migrations/0005_install_status.sql")),
    (6, "rollouts", include_str!("../migrations/0006_rollouts.sql")),
    (7, "rollout windows", include_str!("../migrations/0007_rollout_windows.sql")),
    (8, "inventory indexes", include_str!("../migrations/0008_inventory_indexes.sql")),
    (9, "rollout outcomes", include_str!("../migrations/0009_rollout_outcomes.sql")),
    (10, "dashboard sessions", include_str!("../migrations/0010_ui_sessions.sql")),
    (11, "decommissioning", include_str!("../migrations/0011_decommission.sql")),
    (12, "support periods", include_str!("../migrations/0012_support_periods.sql")),
    (13, "offline installs", include_str!("../migrations/0013_offline_installs.sql")),
];

type MigrationsOrError = std::result::Result<Vec<Migration>, sqlx::error::BoxDynError>;

/// [`MIGRATIONS`] as sqlx's migration source.
#[derive(Debug)]
struct Embedded;

impl<'s> sqlx::migrate::MigrationSource<'s> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = MigrationsOrError> + Send + 's>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into(), false)
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

impl Store {
    /// Opens (creating if need be) the database at `url` (`sqlite://FILE` or
    /// `postgres://...`) and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let options = AnyConnectOptions::from_str(url)?;
        let pool = |max: u32| {
            AnyPoolOptions::new().max_connections(max).after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; NORMAL sync keeps every
                        // commit across a process kill; the busy timeout covers a second
                        // process.
                        for pragma in
                            ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000"]
                        {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                    }
                    Ok(())
                })
            })
        };
        let (read, write) = match backend {
            Backend::Sqlite => {
                let write = pool(1).connect_with(options.clone()).await?;
                (pool(4).connect_with(options).await?, write)
            }
            Backend::Postgres => {
                let shared = pool(16).connect_with(options).await?;
                (shared.clone(), shared)
            }
        };
        let migrator = Migrator::new(Embedded).await.map_err(|e| StoreError::Database(e.into()))?;
        migrator.run(&write).await.map_err(|e| StoreError::Database(e.into()))?;
        let store = Store { read, write, backend };
        store.fill_installed_paths().await?;
        Ok(store)
    }

    /// Fills in `installed_path` for ECU rows written before that column existed (once:
    /// none are left afterwards), from their `installed` JSON entry.
    async fn fill_installed_paths(&self) -> Result<()> {
        let rows = sqlx::query(
            "SELECT vin, serial, installed FROM ecus WHERE installed_path IS NULL AND installed IS NOT NULL",
        )
        .fetch_all(&self.write)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        for r in &rows {
            let installed: String = r.try_get("installed")?;
            let path = inventory::path_in_entry(&installed)?;
            sqlx::query("UPDATE ecus SET installed_path = $1 WHERE vin = $2 AND serial = $3")
                .bind(path)
                .bind(r.try_get::<String, _>("vin")?)
                .bind(r.try_get::<String, _>("serial")?)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.commit().await
    }

    /// Whether the database answers a query.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").fetch_one(&self.read).await?;
        Ok(())
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a change.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx { tx: self.write.begin().await?, backend: self.backend })
    }

    /// A vehicle, if registered.
    pub async fn vehicle(&self, vin: &str) -> Result<Option<Vehicle>> {
        let row = sqlx::query(VEHICLE).bind(vin).fetch_optional(&self.read).await?;
        row.map(|r| vehicle(&r)).transpose()
    }

    /// The administrator a token (by its SHA-256) was issued to, with their role.
    pub async fn admin_token(&self, token_sha256: &str) -> Result<Option<(String, Role)>> {
        let row = sqlx::query("SELECT name, role FROM admin_tokens WHERE token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("admin token role {role:?}")))?;
        Ok(Some((row.try_get("name")?, role)))
    }

    /// Every registered vin.
    pub async fn vins(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT vin FROM vehicles ORDER BY vin").fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok(r.try_get("vin")?)).collect()
    }

    /// A vehicle's ECUs, by serial.
    pub async fn ecus(&self, vin: &str) -> Result<Vec<Ecu>> {
        let rows = sqlx::query(ECUS).bind(vin).fetch_all(&self.read).await?;
        rows.iter().map(ecu).collect()
    }

    /// A signed director metadata file of a vehicle.
    pub async fn metadata(&self, vin: &str, file: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT bytes FROM metadata WHERE vin = $1 AND file = $2")
            .bind(vin)
            .bind(file)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get("bytes")).transpose()?)
    }

    /// A vehicle's token hash, timestamp expiry, decommissioning state and one of its
    /// metadata files: one query for the hot path of device requests.
    pub async fn vehicle_file(&self, vin: &str, file: &str) -> Result<Option<VehicleFile>> {
        let row = sqlx::query(
            "SELECT v.token_hash, v.timestamp_expires, v.decommission, m.bytes FROM vehicles v \
             LEFT JOIN metadata m ON m.vin = v.vin AND m.file = $2 WHERE v.vin = $1",
        )
        .bind(vin)
        .bind(file)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(VehicleFile {
                token_hash: r.try_get("token_hash")?,
                timestamp_expires: r.try_get("timestamp_expires")?,
                decommission: decommission_state(&r)?,
                bytes: r.try_get("bytes")?,
            })
        })
        .transpose()
    }

    /// A director root version.
    pub async fn root(&self, version: i64) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT bytes FROM roots WHERE version = $1").bind(version).fetch_optional(&self.read).await?;
        Ok(row.map(|r| r.try_get("bytes")).transpose()?)
    }

    /// The newest director root: version and bytes.
    pub async fn latest_root(&self) -> Result<Option<(i64, String)>> {
        let row = sqlx::query("SELECT version, bytes FROM roots ORDER BY version DESC LIMIT 1")
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get("version")?, r.try_get("bytes")?))).transpose()?)
    }

    /// A vehicle's events, newest last, after `after`.
    pub async fn events(&self, vin: &str, after: i64, limit: i64) -> Result<Vec<Event>> {
        let rows =
            sqlx::query("SELECT seq, time, kind, detail FROM events WHERE vin = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(vin)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(event_row).collect()
    }

    /// Audit entries after `after`, in order.
    pub async fn audit(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, time, actor, action, detail, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(audit_row).collect()
    }
}

const VEHICLE: &str = "SELECT vin, primary_serial, token_hash, registered, manifest, manifest_time, reported_time, \
     targets_version, snapshot_version, timestamp_version, timestamp_expires, decommission FROM vehicles WHERE vin = $1";
const ECUS: &str = "SELECT serial, hardware_id, public_key, verification, report_counter, reported_time, installed, attack, \
     boot_state, install_result \
     FROM ecus WHERE vin = $1 ORDER BY serial";
fn vehicle(r: &sqlx::any::AnyRow) -> Result<Vehicle> {
    Ok(Vehicle {
        vin: r.try_get("vin")?,
        primary_serial: r.try_get("primary_serial")?,
        token_hash: r.try_get("token_hash")?,
        registered: r.try_get("registered")?,
        manifest: r.try_get("manifest")?,
        manifest_time: r.try_get("manifest_time")?,
        reported_time: r.try_get("reported_time")?,
        targets_version: r.try_get("targets_version")?,
        snapshot_version: r.try_get("snapshot_version")?,
        timestamp_version: r.try_get("timestamp_version")?,
        timestamp_expires: r.try_get("timestamp_expires")?,
        decommission: decommission_state(r)?,
    })
}

/// A row's `decommission` column.
pub(crate) fn decommission_state(r: &sqlx::any::AnyRow) -> Result<DecommissionState> {
    let name: String = r.try_get("decommission")?;
    DecommissionState::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("decommission state {name:?}")))
}

fn ecu(r: &sqlx::any::AnyRow) -> Result<Ecu> {
    ecu_with_time(r, "reported_time")
}

/// An ECU row whose reported time is in column `time` (renamed where a join clashes).
fn ecu_with_time(r: &sqlx::any::AnyRow, time: &str) -> Result<Ecu> {
    Ok(Ecu {
        serial: r.try_get("serial")?,
        hardware_id: r.try_get("hardware_id")?,
        public_key: r.try_get("public_key")?,
        verification: r.try_get("verification")?,
        report_counter: r.try_get("report_counter")?,
        reported_time: r.try_get(time)?,
        installed: r.try_get("installed")?,
        attack: r.try_get("attack")?,
        status: install_status(r)?,
    })
}

/// The boot state and last install result of an ECU row (`None`: its reports do not say).
fn install_status(r: &sqlx::any::AnyRow) -> Result<Option<EcuStatus>> {
    let boot: Option<String> = r.try_get("boot_state")?;
    let Some(boot) = boot else { return Ok(None) };
    let boot_state = BootState::parse(&boot).ok_or_else(|| StoreError::Corrupt(format!("boot state {boot:?}")))?;
    let result: Option<String> = r.try_get("install_result")?;
    let install_result = match result {
        Some(code) => {
            Some(InstallResult::parse(&code).ok_or_else(|| StoreError::Corrupt(format!("install result {code:?}")))?)
        }
        None => None,
    };
    Ok(Some(EcuStatus { boot_state, install_result }))
}

/// One change to the database, committed whole by [`Tx::commit`] or rolled back when
/// dropped.
pub struct Tx {
    tx: sqlx::Transaction<'static, Any>,
    backend: Backend,
}

mod assignments;
mod dashboard;
mod decommission;
mod encryption;
mod evidence;
mod inventory;
mod offline;
mod outcomes;
mod rollouts;
mod sessions;
pub use assignments::Assignment;
pub use dashboard::{AttackReport, Membership, SeenCounts};
pub use decommission::Decommission;
pub use evidence::Deployed;
pub use inventory::{Group, ImageCount, InventoryRow, Labels};
pub use offline::OfflineRecord;
pub use outcomes::AdoptionSample;
pub use rollouts::{OpenRollout, Rollout, StageCount, counters_at};
pub use sessions::Session;

impl Tx {
    /// The vehicle, locked until the transaction ends (PostgreSQL; SQLite has one writer).
    pub async fn lock_vehicle(&mut self, vin: &str) -> Result<Option<Vehicle>> {
        let sql = match self.backend {
            Backend::Postgres => format!("{VEHICLE} FOR UPDATE"),
            Backend::Sqlite => VEHICLE.to_string(),
        };
        let row = sqlx::query(&sql).bind(vin).fetch_optional(&mut *self.tx).await?;
        row.map(|r| vehicle(&r)).transpose()
    }

    /// The vehicle, locked as [`Tx::lock_vehicle`] does, with its ECUs: one query.
    /// With them, whether a rollout has it offered or on trial (so a manifest's ingest
    /// knows, without another query, whether it has rollouts to follow).
    pub async fn lock_vehicle_with_ecus(&mut self, vin: &str) -> Result<Option<(Vehicle, Vec<Ecu>, bool)>> {
        let lock = if self.backend == Backend::Postgres { " FOR UPDATE OF v" } else { "" };
        let sql = format!(
            "SELECT v.vin, v.primary_serial, v.token_hash, v.registered, v.manifest, v.manifest_time, v.reported_time, \
             v.targets_version, v.snapshot_version, v.timestamp_version, v.timestamp_expires, v.decommission, \
             e.serial, e.hardware_id, \
             e.public_key, e.verification, e.report_counter, e.reported_time AS ecu_time, e.installed, e.attack, \
             e.boot_state, e.install_result, \
             (SELECT COUNT(*) FROM rollout_vehicles rv WHERE rv.vin = v.vin AND rv.state IN ('offered', 'trial')) \
             AS open_rollouts \
             FROM vehicles v JOIN ecus e ON e.vin = v.vin WHERE v.vin = $1 ORDER BY e.serial{lock}"
        );
        let rows = sqlx::query(&sql).bind(vin).fetch_all(&mut *self.tx).await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let vehicle = vehicle(first)?;
        let in_rollouts = first.try_get::<i64, _>("open_rollouts")? > 0;
        let ecus = rows.iter().map(|r| ecu_with_time(r, "ecu_time")).collect::<Result<Vec<_>>>()?;
        Ok(Some((vehicle, ecus, in_rollouts)))
    }

    /// The vehicle's ECUs.
    pub async fn ecus(&mut self, vin: &str) -> Result<Vec<Ecu>> {
        let rows = sqlx::query(ECUS).bind(vin).fetch_all(&mut *self.tx).await?;
        rows.iter().map(ecu).collect()
    }

    /// Registers a vehicle; a conflict if the vin is taken.
    pub async fn insert_vehicle(&mut self, vin: &str, primary: &str, token_hash: &str, now: i64) -> Result<()> {
        let exists =
            sqlx::query("SELECT vin FROM vehicles WHERE vin = $1").bind(vin).fetch_optional(&mut *self.tx).await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("vehicle {vin}")));
        }
        sqlx::query("INSERT INTO vehicles (vin, primary_serial, token_hash, registered) VALUES ($1, $2, $3, $4)")
            .bind(vin)
            .bind(primary)
            .bind(token_hash)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Adds an administrator token (by its SHA-256).
    pub async fn insert_admin_token(&mut self, token_sha256: &str, name: &str, role: Role, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO admin_tokens (token_sha256, name, role, created) VALUES ($1, $2, $3, $4)")
            .bind(token_sha256)
            .bind(name)
            .bind(role.as_str())
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Adds an ECU to a vehicle.
    pub async fn insert_ecu(&mut self, vin: &str, ecu: &Ecu) -> Result<()> {
        sqlx::query(
            "INSERT INTO ecus (vin, serial, hardware_id, public_key, verification) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(vin)
        .bind(&ecu.serial)
        .bind(&ecu.hardware_id)
        .bind(&ecu.public_key)
        .bind(&ecu.verification)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Records the accepted reports of every ECU of a vehicle in one statement:
    /// (serial, counter, time, installed, attack).
    pub async fn update_ecus(&mut self, vin: &str, reports: &[EcuUpdate<'_>]) -> Result<()> {
        if reports.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = (0..reports.len())
            .map(|i| {
                let p = 2 + i * 9;
                format!(
                    "SELECT ${p} AS serial, ${} AS counter, ${} AS time, ${} AS installed, ${} AS attack, \
                     ${} AS boot_state, ${} AS install_result, ${} AS previous_image, ${} AS installed_path",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8
                )
            })
            .collect();
        let sql = format!(
            "UPDATE ecus SET report_counter = u.counter, reported_time = u.time, installed = u.installed, attack = u.attack, \
             boot_state = u.boot_state, install_result = u.install_result, previous_image = u.previous_image, \
             installed_path = u.installed_path \
             FROM ({}) AS u WHERE ecus.vin = $1 AND ecus.serial = u.serial",
            rows.join(" UNION ALL ")
        );
        let mut query = sqlx::query(&sql).bind(vin);
        for r in reports {
            query = query.bind(r.serial).bind(r.counter).bind(r.time).bind(r.installed).bind(r.attack);
            query =
                query.bind(r.boot_state).bind(r.install_result.clone()).bind(r.previous_image).bind(r.installed_path);
        }
        query.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Records an accepted manifest.
    pub async fn set_manifest(&mut self, vin: &str, manifest: &str, now: i64, reported_time: i64) -> Result<()> {
        sqlx::query("UPDATE vehicles SET manifest = $1, manifest_time = $2, reported_time = $3 WHERE vin = $4")
            .bind(manifest)
            .bind(now)
            .bind(reported_time)
            .bind(vin)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// A signed metadata file of a vehicle, read inside the transaction.
    pub async fn metadata(&mut self, vin: &str, file: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT bytes FROM metadata WHERE vin = $1 AND file = $2")
            .bind(vin)
            .bind(file)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|r| r.try_get("bytes")).transpose()?)
    }

    /// Stores a signed metadata file of a vehicle (replacing one of the same name).
    pub async fn put_metadata(&mut self, vin: &str, file: &str, bytes: &str) -> Result<()> {
        sqlx::query("DELETE FROM metadata WHERE vin = $1 AND file = $2")
            .bind(vin)
            .bind(file)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("INSERT INTO metadata (vin, file, bytes) VALUES ($1, $2, $3)")
            .bind(vin)
            .bind(file)
            .bind(bytes)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Sets a vehicle's metadata versions and timestamp expiry.
    pub async fn set_versions(
        &mut self,
        vin: &str,
        targets: i64,
        snapshot: i64,
        timestamp: i64,
        expires: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE vehicles SET targets_version = $1, snapshot_version = $2, timestamp_version = $3, \
             timestamp_expires = $4 WHERE vin = $5",
        )
        .bind(targets)
        .bind(snapshot)
        .bind(timestamp)
        .bind(expires)
        .bind(vin)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Stores a director root version.
    pub async fn put_root(&mut self, version: i64, bytes: &str) -> Result<()> {
        sqlx::query("INSERT INTO roots (version, bytes) VALUES ($1, $2)")
            .bind(version)
            .bind(bytes)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Appends a vehicle event.
    pub async fn event(&mut self, vin: &str, kind: &str, detail: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE vehicles SET event_seq = event_seq + 1 WHERE vin = $1")
            .bind(vin)
            .execute(&mut *self.tx)
            .await?;
        let row =
            sqlx::query("SELECT event_seq FROM vehicles WHERE vin = $1").bind(vin).fetch_one(&mut *self.tx).await?;
        let seq: i64 = row.try_get("event_seq")?;
        sqlx::query("INSERT INTO events (vin, seq, time, kind, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(vin)
            .bind(seq)
            .bind(now)
            .bind(kind)
            .bind(detail)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Appends to the hash-chained audit log.
    pub async fn audit(&mut self, actor: &str, action: &str, detail: &str, now: i64) -> Result<()> {
        let lock = match self.backend {
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        };
        let head = sqlx::query(lock).fetch_one(&mut *self.tx).await?;
        let (prev_seq, prev_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        let seq = prev_seq + 1;
        let hash = AuditEntry::compute_hash(&prev_hash, seq, now, actor, action, detail);
        sqlx::query(
            "INSERT INTO audit (seq, time, actor, action, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(now)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Commits everything.
    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}
