//! Expands sparse constant tensors (TFLite's TACO-style encoding) to dense
//! data at graph build time, so kernels only ever see dense constants.

use ferrite_format::{SparseIndices, Sparsity, TensorType};

/// Dense bytes of a sparse constant with dense shape `shape`.
pub fn densify(
    values: &[u8],
    dtype: TensorType,
    shape: &[usize],
    sp: &Sparsity,
) -> Result<Vec<u8>, String> {
    let elem = dtype
        .element_size()
        .ok_or_else(|| format!("sparse {dtype} tensors are not supported"))?;
    let rank = shape.len();
    let order: Vec<usize> = sp
        .traversal_order
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|&o| o as usize)
        .collect();
    let block_map: Vec<usize> = sp
        .block_map
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|&b| b as usize)
        .collect();
    let levels = order.len();
    if levels != rank + block_map.len() || sp.dim_metadata.len() != levels {
        return Err("sparsity metadata does not match the tensor rank".into());
    }
    // Block size of each original dimension (1 when it is not blocked).
    let mut block = vec![1usize; rank];
    for (level, &dim) in order.iter().enumerate() {
        if dim >= rank {
            let j = dim - rank;
            let orig = *block_map.get(j).ok_or("block map too short")?;
            let size = usize::try_from(sp.dim_metadata[level].dense_size)
                .map_err(|_| "negative block size")?;
            if orig >= rank || size == 0 {
                return Err("bad block dimension".into());
            }
            block[orig] = size;
        }
    }
    let total: usize = shape.iter().product();
    let bytes = total.checked_mul(elem).ok_or("dense size overflows")?;
    let mut dense = vec![0u8; bytes];
    let mut coords = vec![0usize; levels];
    let mut state = Walk {
        sp,
        order: &order,
        block_map: &block_map,
        shape,
        block: &block,
        values,
        elem,
        dense: &mut dense,
        coords: &mut coords,
        budget: total.saturating_mul(2).saturating_add(1024),
    };
    state.level(0, 0)?;
    Ok(dense)
}

struct Walk<'a> {
    sp: &'a Sparsity,
    order: &'a [usize],
    block_map: &'a [usize],
    shape: &'a [usize],
    block: &'a [usize],
    values: &'a [u8],
    elem: usize,
    dense: &'a mut [u8],
    coords: &'a mut [usize],
    /// Bounds the walk so hostile metadata cannot make it run for ages.
    budget: usize,
}

fn index(v: &Option<SparseIndices>, i: usize) -> Result<usize, String> {
    v.as_ref()
        .and_then(|v| v.get(i))
        .and_then(|x| usize::try_from(x).ok())
        .ok_or_else(|| format!("sparse index {i} out of range"))
}

impl Walk<'_> {
    fn level(&mut self, level: usize, prev: usize) -> Result<(), String> {
        if self.budget == 0 {
            return Err("sparse metadata describes more elements than the tensor holds".into());
        }
        self.budget -= 1;
        if level == self.order.len() {
            return self.store(prev);
        }
        let meta = &self.sp.dim_metadata[level];
        if meta.format == 0 {
            let size = usize::try_from(meta.dense_size).map_err(|_| "negative dense size")?;
            for i in 0..size {
                self.coords[level] = i;
                let next = prev
                    .checked_mul(size)
                    .and_then(|p| p.checked_add(i))
                    .ok_or("index overflow")?;
                self.level(level + 1, next)?;
            }
        } else {
            let start = index(&meta.array_segments, prev)?;
            let end = index(&meta.array_segments, prev + 1)?;
            for j in start..end {
                self.coords[level] = index(&meta.array_indices, j)?;
                self.level(level + 1, j)?;
            }
        }
        Ok(())
    }

    fn store(&mut self, value_index: usize) -> Result<(), String> {
        let rank = self.shape.len();
        let mut dense_coord = vec![0usize; rank];
        for (level, &dim) in self.order.iter().enumerate() {
            let c = self.coords[level];
            if dim < rank {
                dense_coord[dim] += c * self.block[dim];
            } else {
                dense_coord[self.block_map[dim - rank]] += c;
            }
        }
        let mut flat = 0usize;
        for (d, &c) in dense_coord.iter().enumerate() {
            if c >= self.shape[d] {
                return Err(format!(
                    "sparse coordinate {dense_coord:?} outside shape {:?}",
                    self.shape
                ));
            }
            flat = flat * self.shape[d] + c;
        }
        let src = self
            .values
            .get(value_index * self.elem..(value_index + 1) * self.elem)
            .ok_or("sparse values shorter than the metadata says")?;
        self.dense[flat * self.elem..(flat + 1) * self.elem].copy_from_slice(src);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_format::DimensionMetadata;

    #[test]
    fn csr_matrix_densifies() {
        // [[1,0,0],[0,0,2]] in CSR: row 0 has col 0, row 1 has col 2.
        let sp = Sparsity {
            traversal_order: Some(vec![0, 1]),
            block_map: None,
            dim_metadata: vec![
                DimensionMetadata {
                    format: 0,
                    dense_size: 2,
                    array_segments: None,
                    array_indices: None,
                },
                DimensionMetadata {
                    format: 1,
                    dense_size: 0,
                    array_segments: Some(SparseIndices::Int32(vec![0, 1, 2])),
                    array_indices: Some(SparseIndices::Uint8(vec![0, 2])),
                },
            ],
        };
        let vals: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let dense = densify(&vals, TensorType::Float32, &[2, 3], &sp).unwrap();
        let f: Vec<f32> = dense
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(f, vec![1.0, 0.0, 0.0, 0.0, 0.0, 2.0]);
        // Indices beyond the shape are an error, not a panic.
        let mut bad = sp.clone();
        bad.dim_metadata[1].array_indices = Some(SparseIndices::Uint8(vec![0, 9]));
        assert!(densify(&vals, TensorType::Float32, &[2, 3], &bad).is_err());
    }
}
