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
