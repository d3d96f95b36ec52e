//! The adoption chart, drawn on the server as inline SVG: one bar per hardware id,
//! split by the share of its ECUs on each image, with a table of the same numbers beside
//! it (readable without the picture, by a screen reader too).

use maud::{Markup, html};

use crate::store::ImageCount;

/// The bar's width in SVG units.
const WIDTH: u64 = 600;
/// Segment colours, one per image in order (they repeat past the eighth).
const PALETTE: [&str; 8] = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e", "#0a7d8c", "#9a6700", "#57606a"];

/// One image's segment of a bar: where it starts and how wide it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The image (`None`: not reported yet).
    pub image: Option<&'a str>,
    /// ECUs on it.
    pub ecus: u64,
    /// Its left edge.
    pub x: u64,
    /// Its width (the last one takes the rounding, so they fill the bar exactly).
    pub width: u64,
}

/// The segments of one hardware id's bar, in the order given.
pub fn segments<'a>(images: &[&'a ImageCount]) -> Vec<Segment<'a>> {
    let total: u64 = images.iter().map(|c| c.ecus).sum();
    let mut x = 0;
    let mut out = Vec::with_capacity(images.len());
    for (i, c) in images.iter().enumerate() {
        let width = match (total, i + 1 == images.len()) {
            (0, _) => 0,
            (_, true) => WIDTH - x,
            _ => c.ecus * WIDTH / total,
        };
        out.push(Segment { image: c.image.as_deref(), ecus: c.ecus, x, width });
        x += width;
    }
    out
}

/// The vehicles behind a number: those whose ECU of `hardware_id` runs `image`.
pub fn vehicles_on(hardware_id: &str, image: Option<&str>) -> String {
    let selector = format!("installed.{hardware_id}=={}", image.unwrap_or(""));
    format!("/ui/vehicles?selector={}", urlencode(&selector))
}

/// `text` percent-encoded for a query string.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The chart for every hardware id in `counts`.
pub fn adoption(counts: &[ImageCount]) -> Markup {
    let mut by_hardware: std::collections::BTreeMap<&str, Vec<&ImageCount>> = Default::default();
    for c in counts {
        by_hardware.entry(&c.hardware_id).or_default().push(c);
    }
    html! {
        @if by_hardware.is_empty() { p { "No ECU has reported yet." } }
        @for (hardware, images) in &by_hardware {
            (bar(hardware, images))
        }
    }
}

fn bar(hardware: &str, images: &[&ImageCount]) -> Markup {
    let total: u64 = images.iter().map(|c| c.ecus).sum();
    let parts = segments(images);
    let label = format!("{hardware}: {total} ECUs by image");
    html! {
        figure.adoption {
            figcaption { strong { (hardware) } " · " (total) " ECUs" }
            svg.bar role="img" aria-label=(label) viewBox={"0 0 " (WIDTH) " 24"} width="100%" height="24" preserveAspectRatio="none" {
                title { (label) }
                @for (i, s) in parts.iter().enumerate() {
                    rect x=(s.x) y="0" width=(s.width) height="24" fill=(PALETTE[i % PALETTE.len()]) {
                        title { (s.image.unwrap_or("(not reported)")) ": " (s.ecus) }
                    }
                }
            }
            table.legend {
                thead { tr { th scope="col" { "Image" } th scope="col" { "ECUs" } th scope="col" { "Share" } th scope="col" { "Confirmed" } } }
                tbody {
                    @for (i, c) in images.iter().enumerate() {
                        tr {
                            td {
                                // A presentation attribute, not a style: the CSP allows no inline CSS.
                                svg.swatch width="12" height="12" aria-hidden="true" {
                                    rect width="12" height="12" fill=(PALETTE[i % PALETTE.len()]) {}
                                }
                                (c.image.as_deref().unwrap_or("(not reported)"))
                            }
                            td.num { a href=(vehicles_on(hardware, c.image.as_deref())) { (c.ecus) } }
                            td.num { (percent(c.ecus, total)) }
                            td.num { (c.confirmed) }
                        }
                    }
                }
            }
        }
    }
}

/// `part` of `whole` in per cent, one decimal.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(image: &str, ecus: u64) -> ImageCount {
        ImageCount { hardware_id: "brake-hw".into(), image: Some(image.into()), ecus, confirmed: ecus }
    }

    #[test]
    fn segments_fill_the_bar_exactly_in_proportion() {
        for split in [vec![1, 1, 1], vec![99_999, 1], vec![7], vec![0, 5], vec![3, 0, 0, 4]] {
            let counts: Vec<ImageCount> = split.iter().map(|n| count("i", *n)).collect();
            let refs: Vec<&ImageCount> = counts.iter().collect();
            let parts = segments(&refs);
            assert_eq!(parts.iter().map(|s| s.width).sum::<u64>(), WIDTH, "{split:?}");
            for pair in parts.windows(2) {
                assert_eq!(pair[0].x + pair[0].width, pair[1].x, "{split:?}: adjacent");
            }
            let total: u64 = split.iter().sum();
            for (s, n) in parts.iter().zip(&split).take(split.len() - 1) {
                assert_eq!(s.width, n * WIDTH / total, "{split:?}");
            }
        }
        assert!(segments(&[]).is_empty());
    }

    #[test]
    fn every_number_links_to_the_vehicles_behind_it_and_names_are_escaped() {
        let counts = [count("brake/fw-2.bin", 3), count("<evil>", 1)];
        let text = adoption(&counts).into_string();
        assert!(text.contains("/ui/vehicles?selector=installed.brake-hw%3D%3Dbrake%2Ffw-2.bin"), "{text}");
        assert!(text.contains("&lt;evil&gt;") && !text.contains("<evil>"), "{text}");
        assert!(text.contains("75.0%") && text.contains("25.0%"), "{text}");
    }
}
