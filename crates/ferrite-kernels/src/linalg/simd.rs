//! Just enough SIMD for the GEMM and depthwise loops: one trait over a
//! vector of `W` floats, implemented for AVX-512, AVX2+FMA and a portable
//! fallback. [`Isa::detect`] picks one at run time; loops written against
//! [`Simd`] are instantiated once per ISA inside a `#[target_feature]`
//! function so the intrinsics inline.

/// The instruction set a packed layout and its loops are built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2,
    Generic,
}

// Tests force each available ISA through the kernels with this.
#[cfg(test)]
thread_local! {
    /// Per test thread, so one test forcing an ISA never changes the path
    /// another test's kernels take (float results differ by ISA in the last
    /// bit, and tests compare kernels built at different times exactly).
    static FORCED: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

impl Isa {
    #[cfg(test)]
    pub fn force(isa: Option<Isa>) {
        let code = match isa {
            None => 0,
            Some(Isa::Avx512) => 1,
            Some(Isa::Avx2) => 2,
            Some(Isa::Generic) => 3,
        };
        FORCED.with(|f| f.set(code));
    }

    /// The best ISA this CPU runs.
    pub fn detect() -> Isa {
        #[cfg(test)]
        match FORCED.with(|f| f.get()) {
            1 => return Isa::Avx512,
            2 => return Isa::Avx2,
            3 => return Isa::Generic,
            _ => {}
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Generic
    }

    /// Every ISA this CPU runs, best first (tests exercise all of them).
    pub fn available() -> Vec<Isa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            v.push(Isa::Avx512);
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            v.push(Isa::Avx2);
        }
        v.push(Isa::Generic);
        v
    }

    /// Floats per vector.
    pub fn width(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 | Isa::Generic => 8,
        }
    }
}

/// A vector of `W` f32 lanes.
///
/// # Safety
/// Every method is `unsafe` with one contract: pointer arguments are valid
/// for the lanes touched, and the implementing ISA is available (callers
/// reach an implementation only through [`isa_fn`], which checks).
#[allow(clippy::missing_safety_doc)]
pub trait Simd {
    type V: Copy;
    const W: usize;
    /// Rows of the GEMM microkernel (with two vectors of columns).
    const MR: usize;
    /// Vector registers.
    const REGS: usize;

    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    /// Loads the first `n < W` lanes, zeroing the rest; reads nothing past them.
    unsafe fn load_n(p: *const f32, n: usize) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Stores the first `n < W` lanes; writes nothing past them.
    unsafe fn store_n(p: *mut f32, v: Self::V, n: usize);
    /// `a * b + c`.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `min(max(v, lo), hi)`.
    unsafe fn clamp(v: Self::V, lo: Self::V, hi: Self::V) -> Self::V;
}

/// Portable fallback: plain arrays the compiler vectorises as it can.
pub struct Generic;

impl Simd for Generic {
    type V = [f32; 8];
    const W: usize = 8;
    const MR: usize = 4;
    const REGS: usize = 16;

    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        // SAFETY: the caller guarantees 8 readable floats at p.
        unsafe { std::ptr::read_unaligned(p as *const [f32; 8]) }
    }
    #[inline(always)]
    unsafe fn load_n(p: *const f32, n: usize) -> [f32; 8] {
        let mut v = [0.0; 8];
        for (i, x) in v.iter_mut().enumerate().take(n) {
            // SAFETY: the caller guarantees n readable floats at p.
            *x = unsafe { *p.add(i) };
        }
        v
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        // SAFETY: the caller guarantees 8 writable floats at p.
        unsafe { std::ptr::write_unaligned(p as *mut [f32; 8], v) }
    }
    #[inline(always)]
    unsafe fn store_n(p: *mut f32, v: [f32; 8], n: usize) {
        for (i, &x) in v.iter().enumerate().take(n) {
            // SAFETY: the caller guarantees n writable floats at p.
            unsafe { *p.add(i) = x };
        }
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        let mut r = c;
        for i in 0..8 {
            r[i] += a[i] * b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn clamp(v: [f32; 8], lo: [f32; 8], hi: [f32; 8]) -> [f32; 8] {
        let mut r = v;
        for i in 0..8 {
            r[i] = r[i].max(lo[i]).min(hi[i]);
        }
        r
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use std::arch::x86_64::*;

    /// AVX-512F: 16 lanes, 32 registers.
    pub struct Avx512;

    #[inline(always)]
    fn mask16(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    // SAFETY (whole impl): every method is only reached from functions
    // compiled with `avx512f` after a run-time check; pointer validity is
    // the caller's contract as documented on the trait. Masked loads and
    // stores do not touch (or fault on) masked-off lanes.
    impl Simd for Avx512 {
        type V = __m512;
        const W: usize = 16;
        const MR: usize = 12;
        const REGS: usize = 32;

        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_n(p: *const f32, n: usize) -> __m512 {
            unsafe { _mm512_maskz_loadu_ps(mask16(n), p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_n(p: *mut f32, v: __m512, n: usize) {
            unsafe { _mm512_mask_storeu_ps(p, mask16(n), v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn clamp(v: __m512, lo: __m512, hi: __m512) -> __m512 {
            unsafe { _mm512_min_ps(_mm512_max_ps(v, lo), hi) }
        }
    }

    /// AVX2 + FMA: 8 lanes, 16 registers.
    pub struct Avx2;

    #[inline(always)]
    unsafe fn mask8(n: usize) -> __m256i {
        // Lane i is selected when i < n.
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(n as i32),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }

    // SAFETY (whole impl): as for Avx512, with `avx2,fma`. maskload and
    // maskstore do not fault on masked-off lanes.
    impl Simd for Avx2 {
        type V = __m256;
        const W: usize = 8;
        const MR: usize = 6;
        const REGS: usize = 16;

        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load_n(p: *const f32, n: usize) -> __m256 {
            unsafe { _mm256_maskload_ps(p, mask8(n)) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn store_n(p: *mut f32, v: __m256, n: usize) {
            unsafe { _mm256_maskstore_ps(p, mask8(n), v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn clamp(v: __m256, lo: __m256, hi: __m256) -> __m256 {
            unsafe { _mm256_min_ps(_mm256_max_ps(v, lo), hi) }
        }
    }
}

/// Defines `fn $name(isa: Isa, args..) -> R` that runs the generic
/// `unsafe fn $generic::<S: Simd>(args..) -> R` compiled for `isa`: one
/// `#[target_feature]` wrapper per ISA, so the inlined intrinsics use it.
macro_rules! isa_fn {
    ($vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $generic:ident) => {
        $vis fn $name(isa: $crate::linalg::simd::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: reached only when the CPU has AVX-512F.
                unsafe { $generic::<$crate::linalg::simd::Avx512>($($arg),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: reached only when the CPU has AVX2 and FMA.
                unsafe { $generic::<$crate::linalg::simd::Avx2>($($arg),*) }
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the guard checks the CPU (the result is cached by std).
                $crate::linalg::simd::Isa::Avx512 if std::arch::is_x86_feature_detected!("avx512f") => unsafe {
                    avx512($($arg),*)
                },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                $crate::linalg::simd::Isa::Avx2
                    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") =>
                unsafe { avx2($($arg),*) },
                // SAFETY: the portable implementation has no requirement.
                _ => unsafe { $generic::<$crate::linalg::simd::Generic>($($arg),*) },
            }
        }
    };
}
pub(crate) use isa_fn;
