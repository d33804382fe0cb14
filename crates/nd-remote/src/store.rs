//! [`RemoteStore`]: a `Store` over a remote prefix (a Zarr hierarchy in a bucket or on a web
//! server).

use crate::backend::{block_on, Remote};
use crate::error::{Error, Result};
use crate::options::RemoteOptions;
use crate::stats::Stats;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use nd_core::{validate_key, Store};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use std::ops::Range;
use std::sync::Arc;

/// Keys under a remote prefix. Every `get` is one GET of the whole value (a missing key is
/// `None`); `get_many` fetches concurrently (at most `max_in_flight` at a time); listing uses
/// the store's list API (S3, GCS, Azure; plain HTTP servers cannot list, so a Zarr hierarchy
/// served over HTTP needs consolidated metadata unless its root is an array). Writes are
/// refused unless `RemoteOptions::writable` is set.
pub struct RemoteStore {
    remote: Arc<Remote>,
    url: String,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("url", &self.url)
            .finish()
    }
}

impl RemoteStore {
    /// A store over the prefix `url` (no request is made).
    pub fn open(url: &str, opts: &RemoteOptions) -> Result<RemoteStore> {
        let remote = Arc::new(Remote::open(url, opts)?);
        let url = remote.url.trim_end_matches('/').to_string();
        Ok(RemoteStore { remote, url })
    }

    /// The counters this store reports to.
    pub fn stats(&self) -> &Stats {
        &self.remote.opts.stats
    }

    fn key_path(&self, key: &str) -> Result<Path> {
        validate_key(key).map_err(|e| Error::Url {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let base = self.remote.path.as_ref();
        let full = if base.is_empty() {
            key.to_string()
        } else {
            format!("{base}/{key}")
        };
        Path::parse(&full).map_err(|e| Error::Url {
            url: self.url.clone(),
            reason: e.to_string(),
        })
    }

    fn prefix_path(&self, prefix: &str) -> Result<Option<Path>> {
        let p = prefix.trim_matches('/');
        if p.is_empty() {
            let base = &self.remote.path;
            return Ok((!base.as_ref().is_empty()).then(|| base.clone()));
        }
        self.key_path(p).map(Some)
    }

    /// The key of an object path relative to the store prefix.
    fn rel(&self, p: &Path) -> Option<String> {
        let base = self.remote.path.as_ref();
        let s = p.as_ref();
        if base.is_empty() {
            return Some(s.to_string());
        }
        s.strip_prefix(base)?.strip_prefix('/').map(str::to_string)
    }

    async fn get_opt(&self, path: Path, range: Option<Range<u64>>) -> Result<Option<Bytes>> {
        match self.remote.get(&path, range.clone(), None).await {
            Ok((b, meta)) => {
                if let Some(r) = range {
                    if r.end > meta.size {
                        return Err(Error::OutOfBounds {
                            url: self.remote.url_of(&path),
                            range: r,
                            size: meta.size,
                        });
                    }
                }
                Ok(Some(b))
            }
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn list_err(&self, p: Option<&Path>, e: object_store::Error) -> Error {
        let r = &self.remote;
        let path = p.unwrap_or(&r.path);
        match r.err(path, None, e) {
            Error::Request { url, message, .. } if r.is_http => Error::Unsupported {
                url,
                what: format!(
                    "listing (this HTTP server does not answer WebDAV PROPFIND: {message}); \
                     a Zarr hierarchy served over plain HTTP needs consolidated metadata (.zmetadata)"
                ),
            },
            e => e,
        }
    }

    fn check_writable(&self) -> nd_core::Result<()> {
        if self.remote.opts.writable {
            Ok(())
        } else {
            Err(nd_core::Error::ReadOnly(self.url.clone().into()))
        }
    }
}

impl Store for RemoteStore {
    fn get(&self, key: &str) -> nd_core::Result<Option<Bytes>> {
        let path = self.key_path(key)?;
        Ok(block_on(self.get_opt(path, None))??)
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> nd_core::Result<Option<Bytes>> {
        let path = self.key_path(key)?;
        if range.start > range.end {
            return Err(nd_core::Error::OutOfBounds {
                offset: range.start,
                len: 0,
                size: 0,
            });
        }
        if range.start == range.end {
            // An empty range still tells whether the key exists.
            return Ok(self.get(key)?.map(|_| Bytes::new()));
        }
        Ok(block_on(self.get_opt(path, Some(range)))??)
    }

    /// One GET with a suffix range (`bytes=-len`), the whole value when it is shorter (then
    /// `OutOfBounds`). Stores that refuse suffix ranges (Azure) cost a HEAD and a ranged GET.
    fn get_suffix(&self, key: &str, len: u64) -> nd_core::Result<Option<Bytes>> {
        let path = self.key_path(key)?;
        if len == 0 {
            return Ok(self.get(key)?.map(|_| Bytes::new()));
        }
        let r = &self.remote;
        let got = block_on(async {
            match r.get_suffix(&path, len).await {
                Ok((b, meta)) => Ok(Some((b, meta.size))),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(Error::Unsupported { .. }) => {
                    let size = match r.head(&path).await {
                        Ok(m) => m.size,
                        Err(Error::NotFound { .. }) => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    if size < len {
                        return Ok(Some((Bytes::new(), size)));
                    }
                    let b = self.get_opt(path.clone(), Some(size - len..size)).await?;
                    Ok(b.map(|b| (b, size)))
                }
                Err(e) => Err(e),
            }
        })??;
        match got {
            None => Ok(None),
            Some((_, size)) if size < len => Err(nd_core::Error::OutOfBounds {
                offset: 0,
                len,
                size,
            }),
            Some((b, _)) => Ok(Some(b)),
        }
    }

    fn get_many(&self, keys: &[String]) -> nd_core::Result<Vec<Option<Bytes>>> {
        let paths = keys
            .iter()
            .map(|k| self.key_path(k))
            .collect::<Result<Vec<_>>>()?;
        let n = self.remote.opts.max_in_flight;
        let got = block_on(async move {
            futures::stream::iter(paths)
                .map(|p| self.get_opt(p, None))
                .buffered(n)
                .try_collect::<Vec<_>>()
                .await
        })??;
        Ok(got)
    }

    fn set(&self, key: &str, value: &[u8]) -> nd_core::Result<()> {
        self.check_writable()?;
        let path = self.key_path(key)?;
        let payload = PutPayload::from(Bytes::copy_from_slice(value));
        let r = &self.remote;
        block_on(async {
            r.store
                .put(&path, payload)
                .await
                .map_err(|e| r.err(&path, None, e))
        })??;
        Ok(())
    }

    fn delete(&self, key: &str) -> nd_core::Result<()> {
        self.check_writable()?;
        let path = self.key_path(key)?;
        let r = &self.remote;
        block_on(async {
            match r.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(r.err(&path, None, e)),
            }
        })??;
        Ok(())
    }

    fn list_prefix(&self, prefix: &str) -> nd_core::Result<Vec<String>> {
        let p = self.prefix_path(prefix)?;
        let r = &self.remote;
        let metas = block_on(async {
            r.store
                .list(p.as_ref())
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| self.list_err(p.as_ref(), e))
        })??;
        let mut keys: Vec<String> = metas.iter().filter_map(|m| self.rel(&m.location)).collect();
        keys.sort();
        Ok(keys)
    }

    fn list_dir(&self, prefix: &str) -> nd_core::Result<(Vec<String>, Vec<String>)> {
        let p = self.prefix_path(prefix)?;
        let r = &self.remote;
        let res = block_on(async {
            r.store
                .list_with_delimiter(p.as_ref())
                .await
                .map_err(|e| self.list_err(p.as_ref(), e))
        })??;
        let mut keys: Vec<String> = res
            .objects
            .iter()
            .filter_map(|m| self.rel(&m.location))
            .collect();
        let mut dirs: Vec<String> = res
            .common_prefixes
            .iter()
            .filter_map(|d| self.rel(d).map(|s| format!("{s}/")))
            .collect();
        keys.sort();
        dirs.sort();
        Ok((keys, dirs))
    }

    fn is_writable(&self) -> bool {
        self.remote.opts.writable
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}
