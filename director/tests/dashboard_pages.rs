//! Every dashboard page answered by a director on SQLite and on a real PostgreSQL server,
//! as HTML and as JSON, with a fleet, a running rollout, an attack report and a session
//! made by logging in (the browser tests in `dashboard.rs` drive them on SQLite; these
//! show that the pages' queries run on both databases, and that nothing is answered
//! without a session).

mod common;

use common::Director;
use common::fleet::{Outcome, fleet};
use serde_json::json;

/// A session cookie for `token`, from the login form.
async fn login(director: &Director, token: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = http
        .post(format!("{}/ui/login", director.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

/// A dashboard page's JSON, with a session.
async fn page_json(http: &reqwest::Client, url: &str, cookie: &str, path: &str) -> serde_json::Value {
    let answer = http.get(format!("{url}{path}")).header("cookie", cookie).header("accept", "application/json");
    answer.send().await.unwrap().json().await.unwrap()
}

async fn every_page(director: Director) {
    let mut fleet = fleet(&director, 8).await;
    let body = json!({"name": "pages", "images": {"brake-hw": "brake/fw-2.bin"}, "stages": [{"percent": 100}]});
    let (status, created) = director.admin_post("/rollouts", body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let (status, _) =
        director.admin_send(reqwest::Method::POST, &format!("/rollouts/{id}/start"), json!({"reason": "go"})).await;
    assert_eq!(status, 200);
    director.service.evaluate_rollouts(chrono::Utc::now()).await.unwrap();
    fleet.report(&director, "VIN0000", Outcome::Confirms).await;
    fleet.report(&director, "VIN0001", Outcome::RefusesAttack).await;
    director.service.evaluate_rollouts(chrono::Utc::now()).await.unwrap(); // the attack pauses it
    let cookie = login(&director, &director.admin).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let pages = [
        "/ui/".to_string(),
        "/ui/rollouts".into(),
        format!("/ui/rollouts/{id}"),
        format!("/ui/rollouts/{id}?state=confirmed"),
        "/ui/vehicles".into(),
        "/ui/vehicles?q=VIN000".into(),
        "/ui/vehicles?selector=attr.region%3D%3DEU".into(),
        "/ui/vehicles/VIN0001".into(),
        "/ui/images".into(),
        "/ui/keys".into(),
        "/ui/audit".into(),
    ];
    for path in &pages {
        let page = http.get(format!("{}{path}", director.url)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        let text = page.text().await.unwrap();
        assert!(text.starts_with("<!DOCTYPE html>"), "{path}: {text}");
        let json = http
            .get(format!("{}{path}", director.url))
            .header("cookie", &cookie)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), 200, "{path} as JSON");
        json.json::<serde_json::Value>().await.unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
        let anonymous = http.get(format!("{}{path}", director.url)).send().await.unwrap();
        assert_eq!(anonymous.status(), 303, "{path} without a session goes to the login page");
    }
    let overview = page_json(&http, &director.url, &cookie, "/ui/").await;
    assert_eq!(overview["seen"]["day"], 8, "{overview}");
    assert_eq!(overview["attacks"][0]["vin"], "VIN0001", "{overview}");
    let images = page_json(&http, &director.url, &cookie, "/ui/images").await;
    let after = page_json(&http, &director.url, &cookie, "/ui/vehicles?selector=&after=VIN0003").await;
    let vins: Vec<&str> = after["vehicles"].as_array().unwrap().iter().map(|v| v["vin"].as_str().unwrap()).collect();
    assert_eq!(vins, ["VIN0004", "VIN0005", "VIN0006", "VIN0007"], "the page after a VIN");
    assert_eq!(after["next"], serde_json::Value::Null);
    let marked: Vec<&serde_json::Value> =
        images["images"].as_array().unwrap().iter().filter(|i| i["security"] == true).collect();
    assert_eq!(marked.len(), 1, "{images}");
    assert_eq!((&marked[0]["path"], &marked[0]["advisories"]), (&json!("brake/fw-3.bin"), &json!(["CVE-2026-0042"])));
    let support = &overview["support"][0];
    assert_eq!(
        (&support["hardware_id"], &support["state"], &support["ecus"]),
        (&json!("wiper-hw"), &json!("ending"), &json!(8))
    );
    assert!(overview["paused"][0]["status"]["reason"].as_str().unwrap_or("").contains("attack"), "{overview}");
    // An operator with a password, set twice (the second replaces the first), logs in.
    let store = &director.service.store;
    for password in ["the first long password", "the second long password"] {
        let hash = director::ui::password::hash(password).unwrap();
        store.put_operator("olivia", director::config::Role::Operator, &hash, 1).await.unwrap();
    }
    for (password, status) in [("the first long password", 401), ("the second long password", 303)] {
        let answer = http
            .post(format!("{}/ui/login", director.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("name=olivia&password={}", password.replace(' ', "+")))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), status, "{password}");
    }
    // Guesses at a password are slowed: past a burst of five, one a second (twelve in a
    // row outrun the refill on any machine); a refused one is not even hashed.
    let attempt = |password: &'static str| {
        let request = http
            .post(format!("{}/ui/login", director.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("name=mallory&password={}", password.replace(' ', "+")));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attempt("a guess at the password").await);
    }
    assert!(statuses[..4].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let export = http.get(format!("{}/ui/audit/export", director.url)).header("cookie", &cookie).send().await.unwrap();
    let lines = export.text().await.unwrap();
    assert!(lines.lines().count() > 20 && lines.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

#[tokio::test]
async fn every_dashboard_page_answers_on_sqlite_as_html_and_json_and_only_with_a_session() {
    every_page(Director::start(None, None).await).await;
}

#[tokio::test]
async fn postgres_every_dashboard_page_answers_as_html_and_json_and_only_with_a_session() {
    let server = common::postgres::Postgres::start();
    every_page(Director::start(Some(server.database("director")), None).await).await;
}

/// The CSRF token a page's forms carry.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn an_administrator_asks_for_decommissioning_from_the_vehicle_page_and_a_viewer_cannot() {
    let director = Director::start(None, None).await;
    fleet(&director, 2).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = |cookie: String| {
        let http = http.clone();
        let url = format!("{}/ui/vehicles/VIN0000", director.url);
        async move { http.get(url).header("cookie", cookie).send().await.unwrap().text().await.unwrap() }
    };
    let post = |cookie: String, path: &'static str, form: String| {
        let http = http.clone();
        let url = format!("{}/ui/vehicles/VIN0000{path}", director.url);
        async move {
            let answer = http
                .post(url)
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            answer.status().as_u16()
        }
    };
    let viewer = login(&director, &director.viewer).await;
    let seen = page(viewer.clone()).await;
    assert!(seen.contains("Active: in service.") && !seen.contains("Request decommissioning"), "{seen}");
    let admin = login(&director, &director.admin).await;
    let html = page(admin.clone()).await;
    assert!(html.contains("Request decommissioning"), "{html}");
    let csrf = csrf_of(&html);
    let viewer_csrf = csrf_of(&page(viewer.clone()).await);
    let asked = post(viewer, "/decommission", format!("csrf={viewer_csrf}&reason=scrapped")).await;
    assert_eq!(asked, 403, "a viewer may not");
    assert_eq!(post(admin.clone(), "/decommission", format!("csrf={csrf}&reason=")).await, 400, "no reason");
    assert_eq!(post(admin.clone(), "/decommission", "csrf=wrong&reason=scrapped".to_string()).await, 403);
    assert_eq!(post(admin.clone(), "/decommission", format!("csrf={csrf}&reason=scrapped")).await, 303);
    let html = page(admin.clone()).await;
    assert!(html.contains("decommission_requested") && html.contains("repo-tool decommission"), "{html}");
    let record = director.service.decommission_status("VIN0000").await.unwrap();
    assert_eq!((record.actor.as_str(), record.reason.as_str()), ("admin:admin", "scrapped"));
    assert_eq!(post(admin.clone(), "/decommission/cancel", format!("csrf={csrf}&reason=withdrawn")).await, 303);
    assert!(page(admin).await.contains("Active: in service."));
}
