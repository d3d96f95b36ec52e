//! Per-file work (hashing, copying, linking) spread over the machine's cores, with a
//! progress bar on a terminal for long runs.

use std::io::IsTerminal;

use crate::Error;

/// Applies `work` to every item on up to 8 threads; the results in input order, or
/// the first error in input order.
pub fn map<T: Sync, R: Send>(
    label: &str,
    items: &[T],
    work: impl Fn(&T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    let bar = progress(label, items.len());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let chunk = items.len().div_ceil(threads).max(1);
    let work = &work;
    let parts: Vec<Result<Vec<R>, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let bar = bar.clone();
                scope.spawn(move || {
                    part.iter()
                        .map(|item| {
                            let result = work(item);
                            if let Some(bar) = &bar {
                                bar.inc(1);
                            }
                            result
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(Error::Corrupt("a worker thread panicked".into()))))
            .collect()
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(parts.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
}

fn progress(label: &str, total: usize) -> Option<indicatif::ProgressBar> {
    (total >= 1000 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(label.to_string());
        bar
    })
}
