//! How the chunks of a tile-compressed image lie over its tiles: one tile a chunk, or a group
//! of whole tile rows ([`group_chunk_shape`]), each chunk a box of whole tiles whose tiles are
//! consecutive rows of the tile table.

use nd_core::shape::{coords_of, linear_index, next_index};

/// The tile shape of tile `row` of a C-order grid over `shape` (clipped at the image's edge).
pub(super) fn tile_shape_of(shape: &[u64], tile: &[u64], row: u64) -> Vec<u64> {
    let grid: Vec<u64> = shape
        .iter()
        .zip(tile)
        .map(|(&s, &t)| s.div_ceil(t))
        .collect();
    let idx = coords_of(row, &grid);
    idx.iter()
        .zip(shape.iter().zip(tile))
        .map(|(&i, (&s, &t))| t.min(s - i * t))
        .collect()
}

/// The chunk shape of a group of tiles holding about `chunk_bytes` of values (`elem` bytes
/// each) of an image of `shape` in tiles of `tile`: along the first axis `a` whose slab (one
/// tile along `a` and the axes before it, the whole image along the axes after it) fits, `c`
/// tiles (as many slabs as fit, at least one); the tile along the axes before `a`, the whole
/// axis after it. So a chunk is whole tile rows (2-D row tiles: whole image rows; planes of a
/// cube), its tiles one run of the C-order tile grid, i.e. of the heap as astropy writes it.
/// When no slab fits (a tile larger than `chunk_bytes`), one tile a chunk.
pub(super) fn group_chunk_shape(
    shape: &[u64],
    tile: &[u64],
    elem: u64,
    chunk_bytes: u64,
) -> Vec<u64> {
    let n = shape.len();
    for a in 0..n {
        let slab = tile[..=a]
            .iter()
            .chain(&shape[a + 1..])
            .try_fold(elem, |acc, &d| acc.checked_mul(d));
        let Some(slab) = slab.filter(|&s| s > 0 && s <= chunk_bytes) else {
            continue;
        };
        let tiles_a = shape[a].div_ceil(tile[a]);
        let c = (chunk_bytes / slab).clamp(1, tiles_a);
        let mut chunk: Vec<u64> = tile[..a].to_vec();
        chunk.push(if c == tiles_a { shape[a] } else { c * tile[a] });
        chunk.extend_from_slice(&shape[a + 1..]);
        return chunk;
    }
    tile.to_vec()
}

/// How a chunk grid lies over a tile grid: each chunk a box of whole tiles.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// The image's shape.
    pub(super) shape: Vec<u64>,
    /// The tile shape.
    pub(super) tile: Vec<u64>,
    /// The chunk shape: along each axis a multiple of the tile, or the whole axis.
    pub(super) chunk: Vec<u64>,
    /// Tiles along each axis.
    pub(super) tiles: Vec<u64>,
    /// Tiles per chunk along each axis.
    pub(super) per_chunk: Vec<u64>,
    /// Chunks along each axis.
    pub(super) chunks: Vec<u64>,
}

impl Layout {
    /// The layout of chunks of `chunk` over an image of `shape` in tiles of `tile`: along each
    /// axis the chunk is a multiple of the tile, or covers the whole axis. At most `max_tiles`
    /// tiles.
    pub(super) fn new(
        shape: &[u64],
        tile: &[u64],
        chunk: &[u64],
        max_tiles: usize,
    ) -> Result<Layout, String> {
        if shape.len() != tile.len() || chunk.len() != tile.len() {
            return Err("`shape`, `tile` and `chunk_shape` must be of equal length".into());
        }
        if tile.contains(&0) || chunk.contains(&0) {
            return Err("tiles and chunks must not be empty".into());
        }
        let tiles: Vec<u64> = shape
            .iter()
            .zip(tile)
            .map(|(&s, &t)| s.div_ceil(t))
            .collect();
        let mut per_chunk = Vec::with_capacity(tile.len());
        for ((&s, &t), (&c, &g)) in shape.iter().zip(tile).zip(chunk.iter().zip(&tiles)) {
            if c % t == 0 {
                per_chunk.push((c / t).min(g.max(1)));
            } else if c >= s {
                per_chunk.push(g.max(1));
            } else {
                return Err(format!(
                    "a chunk of {c} along an axis of {s} in tiles of {t} (neither a multiple of \
                     the tile nor the whole axis)"
                ));
            }
        }
        let ntiles = tiles.iter().try_fold(1u64, |a, &g| a.checked_mul(g));
        if ntiles.is_none_or(|n| n > max_tiles as u64) {
            return Err(format!(
                "more than {max_tiles} tiles, the most a tile table holds"
            ));
        }
        let chunks = tiles
            .iter()
            .zip(&per_chunk)
            .map(|(&g, &p)| g.div_ceil(p))
            .collect();
        Ok(Layout {
            shape: shape.to_vec(),
            tile: tile.to_vec(),
            chunk: chunk.to_vec(),
            tiles,
            per_chunk,
            chunks,
        })
    }

    pub(super) fn num_tiles(&self) -> usize {
        self.tiles.iter().product::<u64>() as usize
    }

    pub(super) fn num_chunks(&self) -> usize {
        self.chunks.iter().product::<u64>() as usize
    }

    /// The tiles of chunk `k` (C order over the chunk grid), in C order (ascending index): each
    /// tile's index and its position in tiles within the chunk.
    pub(super) fn tiles_of(
        &self,
        k: usize,
        mut f: impl FnMut(u64, &[u64]) -> Result<(), String>,
    ) -> Result<(), String> {
        let at = coords_of(k as u64, &self.chunks);
        let lo: Vec<u64> = at
            .iter()
            .zip(&self.per_chunk)
            .map(|(&c, &p)| c * p)
            .collect();
        let count: Vec<u64> = lo
            .iter()
            .zip(&self.per_chunk)
            .zip(&self.tiles)
            .map(|((&l, &p), &g)| p.min(g.saturating_sub(l)))
            .collect();
        if count.contains(&0) {
            return Ok(());
        }
        let mut idx = vec![0u64; count.len()];
        loop {
            let t: Vec<u64> = lo.iter().zip(&idx).map(|(&l, &i)| l + i).collect();
            f(linear_index(&t, &self.tiles), &idx)?;
            if !next_index(&mut idx, &count) {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An edge tile decodes padded to the full tile shape; its tile index gives its shape.
    #[test]
    fn edge_tiles_have_their_clipped_shape() {
        assert_eq!(tile_shape_of(&[5, 7], &[2, 3], 0), vec![2, 3]);
        assert_eq!(tile_shape_of(&[5, 7], &[2, 3], 2), vec![2, 1]);
        assert_eq!(tile_shape_of(&[5, 7], &[2, 3], 8), vec![1, 1]);
    }

    /// Groups: whole tile rows of about the size asked, a row of tiles (or part of one) when a
    /// tile row is larger, one tile when a tile is larger; each chunk's tiles one C-order run.
    #[test]
    fn groups_are_runs_of_whole_tile_rows() {
        // 100×70 int16 in 4×4 tiles: a tile row is 4×70×2 = 560 bytes
        assert_eq!(
            group_chunk_shape(&[100, 70], &[4, 4], 2, 8 << 20),
            vec![100, 70]
        );
        assert_eq!(
            group_chunk_shape(&[100, 70], &[4, 4], 2, 2000),
            vec![12, 70]
        );
        assert_eq!(group_chunk_shape(&[100, 70], &[4, 4], 2, 560), vec![4, 70]);
        // a tile row too large: tiles along the last axis; a tile too large: one tile
        assert_eq!(group_chunk_shape(&[100, 70], &[4, 4], 2, 100), vec![4, 12]);
        assert_eq!(group_chunk_shape(&[100, 70], &[4, 4], 2, 10), vec![4, 4]);
        // a cube in row tiles: planes, else rows of a plane
        assert_eq!(
            group_chunk_shape(&[10, 30, 50], &[1, 1, 50], 4, 6000),
            vec![1, 30, 50]
        );
        assert_eq!(
            group_chunk_shape(&[10, 30, 50], &[1, 1, 50], 4, 12000),
            vec![2, 30, 50]
        );
        assert_eq!(
            group_chunk_shape(&[10, 30, 50], &[1, 1, 50], 4, 1000),
            vec![1, 5, 50]
        );
        // the chunks' tiles are consecutive table rows, chunk after chunk
        for (shape, tile, chunk) in [
            ([10u64, 7], [3u64, 2], [6u64, 7]),
            ([10, 7], [3, 2], [3, 4]),
            ([10, 7], [3, 2], [3, 2]),
            ([10, 7], [3, 2], [10, 7]),
        ] {
            let l = Layout::new(&shape, &tile, &chunk, 100).unwrap();
            let mut rows = Vec::new();
            for k in 0..l.num_chunks() {
                let mut mine = Vec::new();
                l.tiles_of(k, |r, _| {
                    mine.push(r);
                    Ok(())
                })
                .unwrap();
                assert!(
                    mine.windows(2).all(|w| w[1] == w[0] + 1),
                    "{chunk:?} {k}: {mine:?}"
                );
                rows.extend(mine);
            }
            assert_eq!(
                rows,
                (0..l.num_tiles() as u64).collect::<Vec<_>>(),
                "{chunk:?}"
            );
        }
        assert!(
            Layout::new(&[10, 7], &[3, 2], &[4, 7], 100).is_err(),
            "4 rows of 3-row tiles"
        );
        assert!(
            Layout::new(&[10, 7], &[3, 2], &[3, 7], 5).is_err(),
            "over the bound"
        );
    }
}
