//! The fleet inventory: vehicles with tags and attributes, listed by selector a page at a
//! time (API and `director vehicles`), saved groups; on SQLite and on a real PostgreSQL.

mod common;

use common::{Director, Vehicle};
use reqwest::Method;
use serde_json::json;

/// Registers `n` vehicles: even ones in the EU, odd ones in the US, every third rev B and
/// tagged beta. Their VINs, in order.
async fn fleet(director: &Director, n: usize) -> Vec<String> {
    let mut vins = Vec::new();
    for i in 0..n {
        let vin = format!("VIN{i:04}");
        let mut registration = Vehicle::new(&vin).registration();
        let (region, rev) = (if i % 2 == 0 { "EU" } else { "US" }, if i % 3 == 0 { "B" } else { "A" });
        registration["attributes"] = json!({"region": region, "hw_rev": rev});
        registration["tags"] = if i % 3 == 0 { json!(["beta", "fleet-7"]) } else { json!(["fleet-7"]) };
        let (status, body) = director.admin_post("/vehicles", registration).await;
        assert_eq!(status, 201, "{body}");
        vins.push(vin);
    }
    vins
}

async fn listed(director: &Director, query: &str) -> Vec<String> {
    let (status, body) = director.admin_get(&format!("/vehicles?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["vehicles"].as_array().unwrap().iter().map(|v| v["vin"].as_str().unwrap().to_string()).collect()
}

fn selector(text: &str) -> String {
    format!("selector={}", text.replace('=', "%3D").replace(';', "%3B").replace(',', "%2C").replace(' ', "%20"))
}

async fn listing_by_selector_and_page(director: Director) {
    let vins = fleet(&director, 12).await;
    let expect = |keep: fn(usize) -> bool| {
        vins.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, v)| v.clone()).collect::<Vec<_>>()
    };
    assert_eq!(listed(&director, "").await, vins, "no selector: every vehicle, in VIN order");
    assert_eq!(listed(&director, &selector("attr.region==EU")).await, expect(|i| i % 2 == 0));
    assert_eq!(listed(&director, &selector("region==EU;hw_rev==B")).await, expect(|i| i % 6 == 0));
    assert_eq!(listed(&director, &selector("tag==beta,region==US")).await, expect(|i| i % 3 == 0 || i % 2 == 1));
    assert_eq!(listed(&director, &selector("hardware_id==brake-hw;tag!=beta")).await, expect(|i| i % 3 != 0));
    assert_eq!(
        listed(&director, &selector("installed.brake-hw==factory.bin")).await,
        Vec::<String>::new(),
        "not reported yet"
    );

    // A page at a time: the pages join into the whole listing, the last says no more.
    let mut pages = Vec::new();
    let mut after = String::new();
    loop {
        let (_, body) =
            director.admin_get(&format!("/vehicles?{}&limit=2&after={after}", selector("region==US"))).await;
        pages.extend(body["vehicles"].as_array().unwrap().iter().map(|v| v["vin"].as_str().unwrap().to_string()));
        match body["next"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
        assert!(pages.len() <= 12, "paging ends");
    }
    assert_eq!(pages, expect(|i| i % 2 == 1));

    // What a vehicle runs and when it was last seen come from its manifests.
    let mut vehicle = Vehicle::new("VIN9000");
    let token = director.register(&vehicle).await;
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    let (_, body) = director.admin_get(&format!("/vehicles?{}", selector("installed.brake-hw==factory.*"))).await;
    let found = &body["vehicles"].as_array().unwrap()[..];
    assert_eq!(found.len(), 1, "{body}");
    assert_eq!(found[0]["vin"], "VIN9000");
    assert!(found[0]["last_seen"].as_i64().unwrap() > 0);
    let brake = found[0]["ecus"].as_array().unwrap().iter().find(|e| e["hardware_id"] == "brake-hw").unwrap();
    assert_eq!(brake["installed"], "factory.bin");
}

#[tokio::test]
async fn vehicles_are_listed_by_selector_a_page_at_a_time() {
    listing_by_selector_and_page(Director::start(None, None).await).await;
}

#[tokio::test]
async fn postgres_vehicles_are_listed_by_selector_a_page_at_a_time() {
    let server = common::postgres::Postgres::start();
    listing_by_selector_and_page(Director::start(Some(server.database("director")), None).await).await;
}

#[tokio::test]
async fn labels_and_groups_change_by_audited_requests_and_bad_ones_change_nothing() {
    let director = Director::start(None, None).await;
    fleet(&director, 6).await;
    let labels = json!({"tags": ["pilot", "beta", "pilot"], "attributes": {"region": "UK", "hw_rev": "C"}});
    let (status, body) = director.admin_send(Method::PUT, "/vehicles/VIN0001/labels", labels).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tags"], json!(["beta", "pilot"]), "sorted, each once");
    assert_eq!(listed(&director, &selector("region==UK")).await, ["VIN0001"]);

    let (status, body) = director.admin_send(Method::PUT, "/groups/rev-b", json!({"selector": "hw_rev==B"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&director, "group=rev-b").await, ["VIN0000", "VIN0003"]);
    let groups = director.admin_get("/groups").await.1;
    assert_eq!(groups["groups"][0]["selector"], "hw_rev==B");

    for (method, path, body, status, said) in [
        (Method::PUT, "/groups/broken", json!({"selector": "hw_rev=="}), 400, "at character 9: expected a value"),
        (Method::PUT, "/vehicles/VIN0001/labels", json!({"tags": ["a/b"]}), 400, "tag \"a/b\""),
        (Method::PUT, "/vehicles/NOPE/labels", json!({"tags": []}), 404, "vehicle NOPE not found"),
        (Method::DELETE, "/groups/none", json!({}), 404, "group none not found"),
    ] {
        let (got, answer) = director.admin_send(method, path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains(said), "{path}: {answer}");
    }
    let (status, body) = director.admin_get(&format!("/vehicles?{}", selector("region=in=EU"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("expected a list in parentheses"), "{body}");
    assert_eq!(listed(&director, &selector("region==UK")).await, ["VIN0001"], "the refused labels changed nothing");
    assert_eq!(director.admin_get("/groups").await.1["groups"].as_array().unwrap().len(), 1);

    assert_eq!(director.admin_send(Method::DELETE, "/groups/rev-b", json!({})).await.0, 200);
    let audit = director.admin_get("/audit").await.1;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["set-labels", "save-group", "delete-group"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn director_vehicles_lists_the_inventory_from_the_command_line() {
    let director = Director::start(None, None).await;
    fleet(&director, 4).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_director"))
        .args(["vehicles"])
        .arg(director.data())
        .args(["--selector", "region==EU"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("VIN0000  never  [beta,fleet-7]  hw_rev=B region=EU"), "{text}");
    assert!(lines[1].starts_with("VIN0002  never  [fleet-7]  hw_rev=A region=EU"), "{text}");
    assert_eq!(lines[2], "2 vehicle(s)");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_director"))
        .args(["vehicles"])
        .arg(director.data())
        .args(["--selector", "region"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected an operator"), "{bad:?}");
}

#[tokio::test]
async fn the_inventory_routes_are_in_the_openapi_document() {
    let director = Director::start(None, None).await;
    let document: serde_json::Value =
        director.http.get(format!("{}/openapi.json", director.url)).send().await.unwrap().json().await.unwrap();
    let paths = &document["paths"];
    assert!(
        paths["/api/v1/admin/vehicles"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "selector")
    );
    assert!(paths["/api/v1/admin/vehicles/{vin}/labels"]["put"].is_object());
    assert!(paths["/api/v1/admin/groups"]["get"].is_object());
    assert!(
        paths["/api/v1/admin/groups/{name}"]["put"].is_object()
            && paths["/api/v1/admin/groups/{name}"]["delete"].is_object()
    );
    let history = &paths["/api/v1/admin/fleet/adoption/history"]["get"]["parameters"];
    let names: Vec<&str> = history.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["since", "hardware_id"]);
}

#[tokio::test]
async fn what_an_ecu_says_of_its_install_is_kept_and_listed() {
    use metadata_schemas::uptane::{BootState, InstallResult, InstallStatus};
    let director = Director::start(None, None).await;
    let mut vehicle = Vehicle::new("VIN0100");
    let token = director.register(&vehicle).await;
    let status = |boot_state, install_result| InstallStatus {
        boot_state,
        previous_image: Some(metadata_schemas::TargetPath::new("factory.bin")),
        install_result,
        unknown: Default::default(),
    };
    vehicle.statuses.insert("brake-1".into(), status(BootState::Trial, Some(InstallResult::Ok)));
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    let shown = director.admin_get("/vehicles/VIN0100").await.1;
    let brake = shown["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == "brake-1").unwrap().clone();
    assert_eq!(brake["status"], json!({"boot_state": "trial", "install_result": "ok"}), "{shown}");
    let wiper = shown["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == "wiper-1").unwrap().clone();
    assert_eq!(wiper["status"], serde_json::Value::Null, "its reports say nothing");

    vehicle.statuses.insert("brake-1".into(), status(BootState::Confirmed, Some(InstallResult::RevertedUnconfirmed)));
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    let (_, listing) = director.admin_get("/vehicles").await;
    let ecus = listing["vehicles"][0]["ecus"].as_array().unwrap();
    let brake = ecus.iter().find(|e| e["serial"] == "brake-1").unwrap();
    assert_eq!(brake["status"], json!({"boot_state": "confirmed", "install_result": "reverted_unconfirmed"}));
}

/// A database from before ECU rows kept their image path apart: the path is filled in
/// from the stored report entry when the director opens it.
#[tokio::test]
async fn an_ecu_row_from_before_the_image_path_column_gets_its_path_at_the_next_start() {
    let mut director = Director::start(None, None).await;
    let mut vehicle = Vehicle::new("VIN0200");
    let token = director.register(&vehicle).await;
    assert_eq!(director.check_in(&mut vehicle, &token).await.0, 200);
    let url = format!("sqlite://{}", director.data().join("director.db").display());
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    sqlx::query("UPDATE ecus SET installed_path = NULL").execute(&mut db).await.unwrap();
    let (_, before) = director.admin_get("/vehicles").await;
    assert_eq!(before["vehicles"][0]["ecus"][0]["installed"], serde_json::Value::Null, "as an old database reads");
    director.restart().await;
    let (_, after) = director.admin_get("/vehicles").await;
    assert!(
        after["vehicles"][0]["ecus"].as_array().unwrap().iter().all(|e| e["installed"] == "factory.bin"),
        "{after}"
    );
}

async fn a_word_finds_vehicles(director: Director) {
    let vins = fleet(&director, 12).await;
    // One vehicle that has checked in, so the director knows what its ECUs run.
    let mut reporting = Vehicle::new("XYZ0001");
    let token = director.register(&reporting).await;
    assert_eq!(director.check_in(&mut reporting, &token).await.0, 200);
    let search = |word: &'static str| {
        let store = director.service.store.clone();
        async move { store.search_vins(word, 101).await.unwrap() }
    };
    assert_eq!(search("VIN000").await, vins[..10].to_vec(), "a VIN's start");
    assert_eq!(search("VIN0011").await, [vins[11].clone()], "a whole VIN");
    assert_eq!(search("beta").await.len(), 4, "a tag");
    assert_eq!(search("brake-hw").await.len(), 13, "a hardware id");
    assert_eq!(search("wiper-1").await.len(), 13, "an ECU serial");
    assert_eq!(search("factory.bin").await, ["XYZ0001"], "an image an ECU runs");
    assert!(search("nothing-like-it").await.is_empty());
    assert_eq!(director.service.store.search_vins("VIN", 3).await.unwrap().len(), 3, "bounded by the limit");
}

#[tokio::test]
async fn a_word_finds_vehicles_by_vin_start_tag_hardware_id_or_ecu_serial() {
    a_word_finds_vehicles(Director::start(None, None).await).await;
}

#[tokio::test]
async fn postgres_a_word_finds_vehicles_by_vin_start_tag_hardware_id_or_ecu_serial() {
    let server = common::postgres::Postgres::start();
    a_word_finds_vehicles(Director::start(Some(server.database("director")), None).await).await;
}
