//! The page shell every dashboard page shares (navigation, who is logged in, the log-out
//! form), the security headers, the stylesheet, and times shown in UTC with their age.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::Operator;

/// The dashboard's sections, in the navigation's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The fleet at a glance.
    Overview,
    /// Staged rollouts.
    Rollouts,
    /// The inventory.
    Vehicles,
    /// The image repository's targets.
    Images,
    /// Roles, keys and expiry of both repositories.
    Keys,
    /// The hash-chained audit log.
    Audit,
}

impl Section {
    const ALL: [Section; 6] =
        [Section::Overview, Section::Rollouts, Section::Vehicles, Section::Images, Section::Keys, Section::Audit];

    fn name(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Rollouts => "Rollouts",
            Section::Vehicles => "Vehicles",
            Section::Images => "Images",
            Section::Keys => "Keys & metadata",
            Section::Audit => "Audit log",
        }
    }

    fn href(self) -> &'static str {
        match self {
            Section::Overview => "/ui/",
            Section::Rollouts => "/ui/rollouts",
            Section::Vehicles => "/ui/vehicles",
            Section::Images => "/ui/images",
            Section::Keys => "/ui/keys",
            Section::Audit => "/ui/audit",
        }
    }
}

/// The Content-Security-Policy of every page: nothing but this origin's stylesheet and
/// inline SVG; no script at all, no framing, forms only to this origin.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// `markup` as an HTML response with the dashboard's security headers.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A whole page for `operator`, in `section`, titled `title`.
pub fn page(operator: &Operator, section: Section, title: &str, body: Markup) -> Response {
    html_response(StatusCode::OK, shell(Some(operator), Some(section), title, body))
}

/// The document around a page's body (`operator` and `section` are absent on the
/// login and error pages).
pub fn shell(operator: Option<&Operator>, section: Option<Section>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · director" }
                link rel="stylesheet" href="/ui/static/style.css";
            }
            body {
                header.top {
                    a.brand href="/ui/" { "director" }
                    @if let Some(operator) = operator {
                        nav aria-label="Sections" {
                            ul {
                                @for s in Section::ALL {
                                    li {
                                        @if Some(s) == section {
                                            a href=(s.href()) aria-current="page" { (s.name()) }
                                        } @else {
                                            a href=(s.href()) { (s.name()) }
                                        }
                                    }
                                }
                            }
                        }
                        form.logout method="post" action="/ui/logout" {
                            input type="hidden" name="csrf" value=(operator.csrf);
                            span.who { (operator.name) " · " (operator.role.as_str()) }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page saying what went wrong, with its status.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        p.error role="alert" { (message) }
        p { a href="/ui/" { "Back to the overview" } }
    };
    let title = status.canonical_reason().unwrap_or("Error");
    html_response(status, shell(None, None, title, body))
}

/// `GET /ui/static/style.css`.
pub async fn stylesheet() -> Response {
    let mut response = include_str!("style.css").into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

/// How long ago (or ahead) `secs` seconds is, in the largest whole unit: `3 h ago`,
/// `in 2 d`, `just now`.
pub fn relative(secs: i64) -> String {
    let (ahead, n) = (secs < 0, secs.unsigned_abs());
    let amount = match n {
        0..60 => return "just now".into(),
        60..3_600 => format!("{} min", n / 60),
        3_600..86_400 => format!("{} h", n / 3_600),
        _ => format!("{} d", n / 86_400),
    };
    if ahead { format!("in {amount}") } else { format!("{amount} ago") }
}

/// A length of time in its largest whole unit: `under a minute`, `5 min`, `3 h`, `2 d`.
pub fn duration(secs: i64) -> String {
    match relative(secs.max(0)).strip_suffix(" ago") {
        Some(amount) => amount.to_string(),
        None => "under a minute".into(),
    }
}

/// A moment (Unix seconds) as UTC and its age at `now`; `never` for 0.
pub fn when(at: i64, now: i64) -> Markup {
    html! {
        (utc(at))
        @if at != 0 { " " span.age { "(" (relative(now - at)) ")" } }
    }
}

/// A moment (Unix seconds) as UTC, without its age; `never` for 0.
pub fn utc(at: i64) -> Markup {
    let Some(time) = chrono::DateTime::from_timestamp(at, 0).filter(|_| at != 0) else {
        return html! { span.never { "never" } };
    };
    html! {
        time datetime=(time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (time.format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_is_told_in_its_largest_whole_unit_and_the_future_is_ahead() {
        assert_eq!(relative(0), "just now");
        assert_eq!(relative(59), "just now");
        assert_eq!(relative(60), "1 min ago");
        assert_eq!(relative(3_599), "59 min ago");
        assert_eq!(relative(7_200), "2 h ago");
        assert_eq!(relative(86_400 * 3 + 5), "3 d ago");
        assert_eq!(relative(-86_400 * 2), "in 2 d");
        assert_eq!(relative(-90), "in 1 min");
        assert_eq!(
            (duration(30), duration(300), duration(7_200)),
            ("under a minute".into(), "5 min".into(), "2 h".into())
        );
    }

    #[test]
    fn a_moment_is_shown_in_utc_with_its_age_and_zero_is_never() {
        let at = 1_796_119_200; // 2026-12-01 10:00 UTC
        let text = when(at, at + 7_200).into_string();
        assert!(text.contains("2026-12-01 10:00 UTC") && text.contains("(2 h ago)"), "{text}");
        assert!(text.contains(r#"datetime="2026-12-01T10:00:00Z""#), "{text}");
        assert!(when(0, at).into_string().contains("never"));
    }

    #[test]
    fn values_in_a_page_are_escaped() {
        let operator = Operator {
            name: "<script>alert(1)</script>".into(),
            role: crate::config::Role::Viewer,
            csrf: "\"x".into(),
        };
        let text = shell(Some(&operator), Some(Section::Overview), "<b>", html! {}).into_string();
        assert!(!text.contains("<script>") && !text.contains("<b>"), "{text}");
        assert!(text.contains("&lt;script&gt;") && text.contains("&quot;x"), "{text}");
    }
}
