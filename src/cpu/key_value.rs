//! Keys and values as tensors, and their one-pass reorder and append.

use candle_core::{Result, Tensor};

/// One attention layer's keys and values, each `(batch, heads, len, head_dim)`.
#[derive(Debug, Clone)]
pub(crate) struct KeyValue {
    pub(crate) key: Tensor,
    pub(crate) value: Tensor,
}

impl KeyValue {
    /// The batch rows `rows` (u32 indices, repeats allowed).
    pub(crate) fn index_select(&self, rows: &Tensor) -> Result<Self> {
        Ok(Self { key: self.key.index_select(rows, 0)?, value: self.value.index_select(rows, 0)? })
    }

    /// The batch rows `rows` of `self` (all of them for `None`), each extended by
    /// the matching row of `new` along the length: one copy instead of a
    /// reorder and then a concatenation.
    pub(crate) fn gather_append(&self, rows: Option<&[u32]>, new: &KeyValue) -> Result<Self> {
        Ok(Self {
            key: gather_append(&self.key, rows, &new.key)?,
            value: gather_append(&self.value, rows, &new.value)?,
        })
    }
}

/// `cat([past[rows], new], 2)` for `past` `(batch, heads, len, dim)` and `new`
/// `(rows, heads, new_len, dim)`, in one pass over contiguous f32 CPU tensors.
fn gather_append(past: &Tensor, rows: Option<&[u32]>, new: &Tensor) -> Result<Tensor> {
    let (batch, heads, len, dim) = past.dims4()?;
    let (out_rows, new_heads, new_len, new_dim) = new.dims4()?;
    if (new_heads, new_dim) != (heads, dim) || rows.map_or(batch, <[u32]>::len) != out_rows {
        candle_core::bail!("cannot append keys {:?} to a cache {:?}", new.dims(), past.dims());
    }
    if let Some(rows) = rows
        && let Some(&row) = rows.iter().find(|&&r| r as usize >= batch)
    {
        candle_core::bail!("cache row {row} out of {batch}");
    }
    let (past_storage, past_layout) = past.storage_and_layout();
    let (new_storage, new_layout) = new.storage_and_layout();
    let (
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(past_data)),
        candle_core::Storage::Cpu(candle_core::CpuStorage::F32(new_data)),
        Some((past_start, _)),
        Some((new_start, _)),
    ) = (&*past_storage, &*new_storage, past_layout.contiguous_offsets(), new_layout.contiguous_offsets())
    else {
        drop((past_storage, new_storage));
        let past = match rows {
            Some(rows) => past.index_select(&Tensor::new(rows, past.device())?, 0)?,
            None => past.clone(),
        };
        return Tensor::cat(&[&past, new], 2);
    };
    let (past_block, new_block) = (len * dim, new_len * dim);
    let mut out = Vec::with_capacity(out_rows * heads * (past_block + new_block));
    for r in 0..out_rows {
        let source = rows.map_or(r, |rows| rows[r] as usize);
        for h in 0..heads {
            let at = past_start + (source * heads + h) * past_block;
            out.extend_from_slice(&past_data[at..at + past_block]);
            let at = new_start + (r * heads + h) * new_block;
            out.extend_from_slice(&new_data[at..at + new_block]);
        }
    }
    Tensor::from_vec(out, (out_rows, heads, len + new_len, dim), past.device())
}
