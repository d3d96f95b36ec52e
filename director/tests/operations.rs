//! What an operator's platform needs around the API: liveness and readiness probes
//! without credentials, and metrics a Prometheus scraper reads with its own token.

mod common;

use common::Director;

async fn get(director: &Director, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = director.http.get(format!("{}{path}", director.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn probes_answer_without_credentials_and_metrics_take_a_scrapers_token() {
    let director = Director::start(None, None).await;
    assert_eq!(get(&director, "/healthz", None).await, (200, r#"{"status":"ok"}"#.to_string()));
    let (status, ready) = get(&director, "/readyz", None).await;
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains(r#""database":"ok""#), "{ready}");

    assert_eq!(get(&director, "/metrics", None).await.0, 401, "metrics are not public");
    let scraper =
        director.service.add_admin_token("admin:test", "prometheus", director::config::Role::Metrics).await.unwrap();
    let (status, text) = get(&director, "/metrics", Some(&scraper)).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("director_requests_total{route=\"/healthz\",status=\"200\"} 1"), "{text}");
    assert_eq!(get(&director, "/api/v1/admin/metrics", Some(&scraper)).await.0, 200);
    let (status, refused) = get(&director, "/api/v1/admin/vehicles", Some(&scraper)).await;
    assert_eq!(status, 403, "a scraper reads nothing else: {refused}");
    assert!(refused.contains("prometheus may not do this"), "{refused}");
}

#[tokio::test]
async fn postgres_readiness_fails_within_its_bound_when_the_database_is_gone() {
    let server = common::postgres::Postgres::start();
    let director = Director::start(Some(server.database("director")), None).await;
    assert_eq!(get(&director, "/readyz", None).await.0, 200);
    drop(server); // stops PostgreSQL
    let started = std::time::Instant::now();
    let (status, body) = get(&director, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""status":"not ready""#), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "bounded: {:?}", started.elapsed());
    assert_eq!(get(&director, "/healthz", None).await.0, 200, "alive, only not ready");
}

/// A director process made by `init`, with `change` made to its configuration, serving
/// with its standard error in `log`; its base URL, the lines it printed first, and its
/// administrator token.
fn serve_configured(
    data: &std::path::Path,
    log: &std::path::Path,
    change: impl FnOnce(&mut serde_json::Value),
) -> (common::process::Serving, String, Vec<String>, String) {
    let admin = common::process::init(data);
    let path = data.join(director::config::CONFIG_FILE);
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    change(&mut config);
    std::fs::write(&path, config.to_string()).unwrap();
    let stderr = std::fs::File::create(log).unwrap();
    let command = std::process::Command::new(env!("CARGO_BIN_EXE_director"));
    let (child, url, before) = common::process::serve_logging(command, data, stderr.into());
    (child, url, before, admin)
}

#[tokio::test]
async fn a_metrics_address_serves_metrics_and_probes_without_a_token_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("stderr.log"));
    let (_serving, url, before, _) = serve_configured(&data, &log, |c| c["metrics_listen"] = "127.0.0.1:0".into());
    let metrics_url = before.iter().find_map(|l| l.strip_prefix("metrics listening on ")).expect("a metrics address");
    let http = common::http_client().build().unwrap();
    let get = |base: &str, path: &str| http.get(format!("{base}{path}")).send();
    let scraped = get(metrics_url, "/metrics").await.unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("# TYPE director_fleet_image_ecus gauge"));
    assert_eq!(get(metrics_url, "/readyz").await.unwrap().status(), 200);
    let refused = get(metrics_url, "/api/v1/admin/vehicles").await.unwrap();
    assert_eq!(refused.status(), 404, "nothing but metrics and probes there");
    assert_eq!(get(&url, "/metrics").await.unwrap().status(), 401, "the main address still wants a token");
}

#[tokio::test]
async fn with_json_logs_each_administrators_or_failed_request_is_one_object_a_line_naming_route_status_and_error() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("stderr.log"));
    let (mut serving, url, _, admin) = serve_configured(&data, &log, |c| c["log_format"] = "json".into());
    let http = common::http_client().build().unwrap();
    let answer = http.get(format!("{url}/api/v1/admin/vehicles/NOPE")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    assert_eq!(http.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    let listed = http.get(format!("{url}/api/v1/admin/vehicles")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(listed.status(), 200);
    let device = format!("{url}/api/v1/vehicles/NOPE/director/timestamp.json");
    assert_eq!(http.get(device).bearer_auth("not-a-token").send().await.unwrap().status(), 401);
    // A registered vehicle looking for a root version that does not exist yet: normal, not logged.
    let vehicle = common::Vehicle::new("VIN0000000000007");
    let registered = http
        .post(format!("{url}/api/v1/admin/vehicles"))
        .bearer_auth(&admin)
        .json(&vehicle.registration())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = registered.json().await.unwrap();
    let token = body["device_token"].as_str().unwrap();
    let next_root = format!("{url}/api/v1/vehicles/VIN0000000000007/director/2.root.json");
    assert_eq!(http.get(next_root).bearer_auth(token).send().await.unwrap().status(), 404);
    serving.kill();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect();
    let requests: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "request").collect();
    let logged: Vec<(&str, u64)> =
        requests.iter().map(|l| (l["path"].as_str().unwrap(), l["status"].as_u64().unwrap())).collect();
    assert_eq!(
        logged,
        [
            ("/api/v1/admin/vehicles/NOPE", 404),
            ("/api/v1/admin/vehicles", 200),
            ("/api/v1/vehicles/NOPE/director/timestamp.json", 401),
            ("/api/v1/admin/vehicles", 201)
        ],
        "administrators' requests and failed ones; not a healthy probe: {text}"
    );
    let line = requests[0];
    assert_eq!(
        (&line["level"], &line["method"], &line["route"], &line["status"]),
        (&"info".into(), &"GET".into(), &"/api/v1/admin/vehicles/{vin}".into(), &404.into()),
        "{text}"
    );
    assert_eq!(line["path"], "/api/v1/admin/vehicles/NOPE");
    assert_eq!(line["error"], "vehicle NOPE not found", "{text}");
    assert!(line["ms"].as_f64().is_some() && line["ts"].as_str().unwrap().ends_with('Z'), "{text}");
}
