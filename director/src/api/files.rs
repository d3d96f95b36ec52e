//! The image repository as static files: `GET /api/v1/repo/{file}` (metadata) and
//! `GET /api/v1/repo/targets/{path}` (images, with single-range requests). Only
//! authenticated devices are served; paths with empty, `.` or `..` segments never
//! reach the file system.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{ApiError, PeerVin, auth};
use crate::service::Director;

fn under(root: PathBuf, path: &str) -> Result<PathBuf, ApiError> {
    let mut full = root;
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains('\\') {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("{path:?}: not a plain relative path")));
        }
        full.push(segment);
    }
    Ok(full)
}

async fn repo_dir(
    director: &Director,
    headers: &HeaderMap,
    peer: Option<Extension<PeerVin>>,
) -> Result<PathBuf, ApiError> {
    let peer = peer.map(|Extension(p)| p).unwrap_or_default();
    auth::device(director, headers, &peer, None).await?;
    let images = director
        .images
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no image repository is configured"))?;
    Ok(images.dir().to_path_buf())
}

/// `GET /api/v1/repo/{file}`: an image repository metadata file.
pub async fn metadata(
    State(director): State<Arc<Director>>,
    Path(file): Path<String>,
    peer: Option<Extension<PeerVin>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let dir = repo_dir(&director, &headers, peer).await?;
    let path = under(dir.join("metadata"), &file)?;
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response()),
        Err(_) => Err(ApiError::new(StatusCode::NOT_FOUND, format!("{file} not found"))),
    }
}

/// Parses `bytes=A-B`, `bytes=A-` or `bytes=-N` against a file of `len` bytes.
fn range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", n) => (len.checked_sub(n.parse().ok()?)?, len.checked_sub(1)?),
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len.checked_sub(1)?)),
    };
    (start <= end && end < len).then_some((start, end))
}

/// `GET /api/v1/repo/targets/{path}`: an image, whole or one byte range.
pub async fn target(
    State(director): State<Arc<Director>>,
    Path(path): Path<String>,
    peer: Option<Extension<PeerVin>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let dir = repo_dir(&director, &headers, peer).await?;
    let full = under(dir.join("targets"), &path)?;
    serve_file(&full, &path, &headers).await
}

/// `GET /api/v1/vehicles/{vin}/director/targets/{name}`: an encrypted image's
/// ciphertext, for that vehicle's devices, whole or one byte range.
pub async fn ciphertext(
    State(director): State<Arc<Director>>,
    Path((vin, name)): Path<(String, String)>,
    peer: Option<Extension<PeerVin>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let peer = peer.map(|Extension(p)| p).unwrap_or_default();
    auth::device(&director, &headers, &peer, Some(&vin)).await?;
    // Clients of a consistent-snapshot repository ask for `<sha256>.<name>`; the name is
    // `<sha256>.enc` already.
    let name = match name.split_once('.') {
        Some((hash, rest)) if rest.len() == 68 && rest.starts_with(hash) => rest.to_string(),
        _ => name,
    };
    let known = director
        .store
        .is_ciphertext(&name)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if !known || name.contains('/') {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("{name} not found")));
    }
    serve_file(&director.encryption.ciphertext_path(&name), &name, &headers).await
}

/// A file, whole or the one byte range `headers` ask for.
async fn serve_file(full: &std::path::Path, path: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, format!("{path} not found"));
    let mut file = tokio::fs::File::open(full).await.map_err(|_| not_found())?;
    let len = file.metadata().await.map_err(|_| not_found())?.len();
    let requested = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let Some(requested) = requested else {
        let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
        return Ok(([(header::CONTENT_LENGTH, len.to_string()), (header::ACCEPT_RANGES, "bytes".into())], body)
            .into_response());
    };
    let Some((start, end)) = range(requested, len) else {
        return Ok(
            (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{len}"))]).into_response()
        );
    };
    file.seek(std::io::SeekFrom::Start(start)).await.map_err(|_| not_found())?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file.take(end - start + 1)));
    Ok((
        StatusCode::PARTIAL_CONTENT,
        [
            (header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")),
            (header::CONTENT_LENGTH, (end - start + 1).to_string()),
            (header::ACCEPT_RANGES, "bytes".into()),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_are_parsed_and_bounded() {
        assert_eq!(range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(range("bytes=100-", 100), None);
        assert_eq!(range("bytes=5-1", 100), None);
        assert_eq!(range("bytes=0-1,5-6", 100), None);
        assert_eq!(range("items=0-1", 100), None);
    }
}
