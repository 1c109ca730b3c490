//! Byte-to-byte table lookup: the inner loop of every 8-bit activation
//! (LOGISTIC, TANH, ELU, GELU, ...), whose table LiteRT fills once per op.
//! A scalar lookup costs about a cycle per byte, which made swish-heavy
//! int8 nets (EfficientNet) spend a seventh of their time here. With
//! AVX-512 VBMI two `vpermi2b` cover the table's halves for 64 bytes at a
//! time and the input's top bit picks between them.

use crate::linalg::simd::Isa;

/// `out[i] = table[x[i]]`. Slices of unequal length use the shorter.
pub fn lookup(table: &[u8; 256], x: &[u8], out: &mut [u8]) {
    let n = x.len().min(out.len());
    let (x, out) = (&x[..n], &mut out[..n]);
    #[cfg(target_arch = "x86_64")]
    if vbmi_available() {
        // SAFETY: the CPU supports AVX-512 F, BW and VBMI (checked above).
        unsafe { lookup_vbmi(table, x, out) };
        return;
    }
    lookup_scalar(table, x, out);
}

fn lookup_scalar(table: &[u8; 256], x: &[u8], out: &mut [u8]) {
    for (o, &b) in out.iter_mut().zip(x) {
        *o = table[b as usize];
    }
}

/// VBMI is an AVX-512 extension, so a forced non-AVX-512 ISA (in tests)
/// also turns it off.
#[cfg(target_arch = "x86_64")]
fn vbmi_available() -> bool {
    Isa::detect() == Isa::Avx512
        && std::arch::is_x86_feature_detected!("avx512vbmi")
        && std::arch::is_x86_feature_detected!("avx512bw")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn lookup_vbmi(table: &[u8; 256], x: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    // SAFETY (whole block): every load and store below stays within its
    // slice: the table has 256 bytes (four 64-byte loads), the main loop
    // touches `i..i + 64` only while `i + 64 <= n`, and the tail goes
    // through masked loads and stores of its `n - i < 64` bytes.
    let t = table.as_ptr();
    let t0 = _mm512_loadu_si512(t as *const _);
    let t1 = _mm512_loadu_si512(t.add(64) as *const _);
    let t2 = _mm512_loadu_si512(t.add(128) as *const _);
    let t3 = _mm512_loadu_si512(t.add(192) as *const _);
    let n = x.len().min(out.len());
    let (xp, op) = (x.as_ptr(), out.as_mut_ptr());
    let look = |v: __m512i| {
        // Bits 0..=6 index a 128-byte half; bit 7 chooses the half.
        let low = _mm512_permutex2var_epi8(t0, v, t1);
        let high = _mm512_permutex2var_epi8(t2, v, t3);
        _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high)
    };
    let mut i = 0;
    while i + 64 <= n {
        let v = _mm512_loadu_si512(xp.add(i) as *const _);
        _mm512_storeu_si512(op.add(i) as *mut _, look(v));
        i += 64;
    }
    if i < n {
        let mask: __mmask64 = (1u64 << (n - i)) - 1;
        let v = _mm512_maskz_loadu_epi8(mask, xp.add(i) as *const i8);
        _mm512_mask_storeu_epi8(op.add(i) as *mut i8, mask, look(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table with no structure a wrong index could hide behind.
    fn scrambled() -> Box<[u8; 256]> {
        let mut t = Box::new([0u8; 256]);
        for (i, e) in t.iter_mut().enumerate() {
            *e = (i as u8).wrapping_mul(167).wrapping_add(29) ^ (i as u8 >> 3);
        }
        t
    }

    #[test]
    fn every_isa_matches_the_scalar_lookup_at_every_length() {
        let table = scrambled();
        let x: Vec<u8> = (0..700u32).map(|i| (i * 7 + i / 256) as u8).collect();
        for isa in Isa::available() {
            Isa::force(Some(isa));
            for n in (0..=200).chain([255, 256, 257, 511, 640, 700]) {
                let mut want = vec![0u8; n];
                lookup_scalar(&table, &x[..n], &mut want);
                // Guard bytes after `n` must survive the masked tail.
                let mut got = vec![0xa5u8; n + 70];
                lookup(&table, &x[..n], &mut got[..n]);
                assert_eq!(&got[..n], &want[..], "{isa:?} n={n}");
                assert!(got[n..].iter().all(|&b| b == 0xa5), "{isa:?} n={n}");
            }
        }
        Isa::force(None);
    }

    #[test]
    fn every_byte_value_reads_its_own_entry() {
        let table = scrambled();
        let x: Vec<u8> = (0..=255).collect();
        let mut out = vec![0u8; 256];
        lookup(&table, &x, &mut out);
        assert_eq!(&out[..], &table[..]);
    }
}
