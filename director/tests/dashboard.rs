//! The dashboard in a real browser: Playwright (pytest, `director/tests/dashboard/`)
//! drives Debian's Chromium headless against a director on 127.0.0.1 with a simulated
//! fleet. The browser side steers the fleet through a small control server this test
//! runs beside the director (`POST /report`, `POST /evaluate`), so a scenario can make
//! vehicles fail in one stratum and watch the rollout pause. Screenshots of every page go
//! to `target/dashboard/` (and of the page a failed scenario was on).

mod common;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use common::Director;
use common::fleet::{Fleet, Outcome, fleet};
use serde::Deserialize;
use tokio::sync::Mutex;

/// What the browser tests may make the fleet do.
struct Control {
    director: Director,
    fleet: Mutex<Fleet>,
}

#[derive(Deserialize)]
struct Report {
    vin: String,
    outcome: String,
}

/// `POST /report {"vin", "outcome": "confirms" | "trial" | "reverts" | "attack"}`: the
/// vehicle checks in after that outcome.
async fn report(State(control): State<Arc<Control>>, Json(report): Json<Report>) -> StatusCode {
    let outcome = match report.outcome.as_str() {
        "confirms" => Outcome::Confirms,
        "trial" => Outcome::Trial,
        "reverts" => Outcome::Reverts,
        "attack" => Outcome::RefusesAttack,
        _ => return StatusCode::BAD_REQUEST,
    };
    let mut fleet = control.fleet.lock().await;
    if !fleet.vehicles.contains_key(&report.vin) {
        return StatusCode::NOT_FOUND;
    }
    fleet.report(&control.director, &report.vin, outcome).await;
    StatusCode::NO_CONTENT
}

/// `POST /evaluate`: the rollout timer's tick, now.
async fn evaluate(State(control): State<Arc<Control>>) -> StatusCode {
    match control.director.service.evaluate_rollouts(chrono::Utc::now()).await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser_for_operators_and_viewers() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium}: no Chromium (Debian's `chromium`; scripts/test installs it, or set CHROMIUM)"
    );
    let director = Director::start(None, None).await;
    let fleet = fleet(&director, 40).await;
    // An operator who logs in with a name and a password, made as a user would make one.
    let password = "a long operator passphrase";
    let made = std::process::Command::new(env!("CARGO_BIN_EXE_director"))
        .args(["operator", director.data().to_str().unwrap(), "--name", "olivia", "--role", "operator"])
        .env("DIRECTOR_OPERATOR_PASSWORD", password)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (url, admin, viewer) = (director.url.clone(), director.admin.clone(), director.viewer.clone());
    let control = Arc::new(Control { director, fleet: Mutex::new(fleet) });
    let app = axum::Router::new()
        .route("/report", post(report))
        .route("/evaluate", post(evaluate))
        .with_state(control.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let workspace = repo_simulator::python::workspace();
    let screenshots = workspace.join("target").join("dashboard");
    std::fs::create_dir_all(&screenshots).unwrap();
    let run = tokio::task::spawn_blocking(move || {
        let python = repo_simulator::python::venv("dashboard-venv", "scripts/requirements-dashboard.txt");
        let mut pytest = std::process::Command::new(python);
        pytest
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "director/tests/dashboard"])
            .current_dir(&workspace)
            .env("DIRECTOR_URL", &url)
            .env("ADMIN_TOKEN", &admin)
            .env("VIEWER_TOKEN", &viewer)
            .env("OPERATOR_NAME", "olivia")
            .env("OPERATOR_PASSWORD", password)
            .env("FLEET_URL", &control_url)
            .env("CHROMIUM", &chromium)
            .env("SCREENSHOTS", &screenshots);
        pytest.output().unwrap()
    });
    // Every scenario is bounded by Playwright's own timeouts; this bounds the whole run.
    let output = tokio::time::timeout(std::time::Duration::from_secs(900), run)
        .await
        .expect("the browser tests finish within 15 minutes")
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    println!("{text}");
    assert!(output.status.success(), "the browser tests failed:\n{text}");
}
