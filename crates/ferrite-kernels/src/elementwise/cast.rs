//! CAST between float32, float16, int64, int32, int16, int8, uint8 and bool.
//!
//! Semantics of LiteRT 2.3 (checked against ai_edge_litert): float to
//! integer truncates toward zero and saturates, with NaN becoming the
//! type's maximum; integer to integer wraps; anything to bool is `!= 0`
//! (NaN is true); bool reads as 0/1; to float16 goes through float32 with
//! round-to-nearest-even. The CastOptions types are ignored, as in LiteRT.

use half::f16;

use super::broadcast::map;
use crate::api::*;
use crate::parallel::Parallel;

struct Cast {
    from: DType,
    to: DType,
}

fn castable(d: DType) -> bool {
    use DType::*;
    matches!(
        d,
        Float32 | Float16 | Int64 | Int32 | Int16 | Int8 | Uint8 | Bool
    )
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    let (from, to) = (spec.input(0)?.dtype, spec.output(0)?.dtype);
    for d in [from, to] {
        if !castable(d) {
            return spec.unsupported(format!("{from} to {to}"));
        }
    }
    Ok(Box::new(Cast { from, to }))
}

/// A destination element type.
trait Dst: bytemuck::Pod + Send {
    fn from_int(v: i64) -> Self;
    fn from_float(v: f32) -> Self;
}

macro_rules! int_dst {
    ($($t:ty),*) => {$(
        impl Dst for $t {
            #[inline(always)]
            fn from_int(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_float(v: f32) -> Self {
                // `as` truncates and saturates; LiteRT maps NaN to the maximum.
                if v.is_nan() { <$t>::MAX } else { v as $t }
            }
        }
    )*};
}
int_dst!(i64, i32, i16, i8, u8);

impl Dst for f32 {
    #[inline(always)]
    fn from_int(v: i64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn from_float(v: f32) -> Self {
        v
    }
}

fn convert<S: bytemuck::Pod + Sync, D: bytemuck::Pod + Send>(
    par: &Parallel,
    x: &[u8],
    out: &mut [u8],
    f: impl Fn(S) -> D + Sync,
) -> KResult<()> {
    let (x, o) = (cast::<S>(x)?, cast_mut::<D>(out)?);
    map(par, x, o, f);
    Ok(())
}

/// Converts from source type `S`, read through `int` (exact integers) or
/// `float` (float values), into `to`.
fn from_source<S: bytemuck::Pod + Sync>(
    par: &Parallel,
    x: &[u8],
    out: &mut [u8],
    to: DType,
    read: Source<S>,
) -> KResult<()> {
    macro_rules! go {
        ($d:ty) => {
            match read {
                Source::Int(r) => convert::<S, $d>(par, x, out, move |v| <$d>::from_int(r(v))),
                Source::Float(r) => convert::<S, $d>(par, x, out, move |v| <$d>::from_float(r(v))),
            }
        };
    }
    match to {
        DType::Float32 => go!(f32),
        DType::Int64 => go!(i64),
        DType::Int32 => go!(i32),
        DType::Int16 => go!(i16),
        DType::Int8 => go!(i8),
        DType::Uint8 => go!(u8),
        DType::Bool => match read {
            Source::Int(r) => convert::<S, u8>(par, x, out, move |v| (r(v) != 0) as u8),
            Source::Float(r) => convert::<S, u8>(par, x, out, move |v| (r(v) != 0.0) as u8),
        },
        DType::Float16 => {
            let bits = |v: f32| f16::from_f32(v).to_bits();
            match read {
                Source::Int(r) => convert::<S, u16>(par, x, out, move |v| bits(r(v) as f32)),
                Source::Float(r) => convert::<S, u16>(par, x, out, move |v| bits(r(v))),
            }
        }
        other => unsupported(format!("CAST to {other}")),
    }
}

/// How to read a source element: as an exact integer or as a float.
#[derive(Clone, Copy)]
enum Source<S> {
    Int(fn(S) -> i64),
    Float(fn(S) -> f32),
}

impl Kernel for Cast {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let par = io.par;
        let out = io.outputs[0].bytes_mut();
        if self.from == self.to && self.from != DType::Bool {
            out.copy_from_slice(x.data);
            return Ok(());
        }
        let d = x.data;
        let to = self.to;
        match self.from {
            DType::Float32 => from_source::<f32>(par, d, out, to, Source::Float(|v| v)),
            DType::Float16 => from_source::<u16>(
                par,
                d,
                out,
                to,
                Source::Float(|v| f16::from_bits(v).to_f32()),
            ),
            DType::Int64 => from_source::<i64>(par, d, out, to, Source::Int(|v| v)),
            DType::Int32 => from_source::<i32>(par, d, out, to, Source::Int(|v| v as i64)),
            DType::Int16 => from_source::<i16>(par, d, out, to, Source::Int(|v| v as i64)),
            DType::Int8 => from_source::<i8>(par, d, out, to, Source::Int(|v| v as i64)),
            DType::Uint8 => from_source::<u8>(par, d, out, to, Source::Int(|v| v as i64)),
            DType::Bool => from_source::<u8>(par, d, out, to, Source::Int(|v| (v != 0) as i64)),
            other => unsupported(format!("CAST from {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{f32_bytes, from_bytes, run_kernel, spec_build};

    fn run(from: DType, to: DType, data: Vec<u8>, n: usize) -> Vec<u8> {
        let k = spec_build(build, "CAST", BuiltinOptions::None, &[(from, &[n])], to).unwrap();
        run_kernel(k.as_ref(), &[(from, &[n], data)], to).unwrap().1
    }

    // Inputs and outputs below were produced by ai_edge_litert 2.3.0.
    const F: [f32; 12] = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        3e9,
        -3e9,
        200.7,
        -200.7,
        1e5,
        -1.5,
        2.5,
        0.5,
        -0.5,
    ];

    #[test]
    fn float_to_int_saturates_with_nan_as_max() {
        let x = f32_bytes(&F);
        let n = F.len();
        let i32s = [
            i32::MAX,
            i32::MAX,
            i32::MIN,
            i32::MAX,
            i32::MIN,
            200,
            -200,
            100000,
            -1,
            2,
            0,
            0,
        ];
        assert_eq!(
            from_bytes::<i32>(&run(DType::Float32, DType::Int32, x.clone(), n)),
            i32s
        );
        let i64s = [
            i64::MAX,
            i64::MAX,
            i64::MIN,
            3_000_000_000,
            -3_000_000_000,
            200,
            -200,
            100000,
            -1,
            2,
            0,
            0,
        ];
        assert_eq!(
            from_bytes::<i64>(&run(DType::Float32, DType::Int64, x.clone(), n)),
            i64s
        );
        let i8s: [i8; 12] = [127, 127, -128, 127, -128, 127, -128, 127, -1, 2, 0, 0];
        assert_eq!(
            from_bytes::<i8>(&run(DType::Float32, DType::Int8, x.clone(), n)),
            i8s
        );
        let u8s: [u8; 12] = [255, 255, 0, 255, 0, 200, 0, 255, 0, 2, 0, 0];
        assert_eq!(run(DType::Float32, DType::Uint8, x.clone(), n), u8s);
        let i16s: [i16; 12] = [
            32767, 32767, -32768, 32767, -32768, 200, -200, 32767, -1, 2, 0, 0,
        ];
        assert_eq!(
            from_bytes::<i16>(&run(DType::Float32, DType::Int16, x.clone(), n)),
            i16s
        );
        assert_eq!(run(DType::Float32, DType::Bool, x.clone(), n), [1; 12]);
        let h = from_bytes::<u16>(&run(DType::Float32, DType::Float16, x, n));
        let h: Vec<f32> = h.iter().map(|&b| f16::from_bits(b).to_f32()).collect();
        assert!(h[0].is_nan());
        assert_eq!(
            h[1..],
            [
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                200.75,
                -200.75,
                f32::INFINITY,
                -1.5,
                2.5,
                0.5,
                -0.5
            ]
        );
    }

    #[test]
    fn int_casts_wrap_and_bool_normalises() {
        let x: Vec<u8> = bytemuck::cast_slice(&[
            300i32,
            -300,
            128,
            -129,
            70000,
            -70000,
            i32::MAX,
            i32::MIN,
            0,
            1,
        ])
        .to_vec();
        assert_eq!(
            from_bytes::<i8>(&run(DType::Int32, DType::Int8, x.clone(), 10)),
            [44, -44, -128, 127, 112, -112, -1, 0, 0, 1]
        );
        assert_eq!(
            run(DType::Int32, DType::Uint8, x.clone(), 10),
            [44, 212, 128, 127, 112, 144, 255, 0, 0, 1]
        );
        assert_eq!(
            run(DType::Int32, DType::Bool, x.clone(), 10),
            [1, 1, 1, 1, 1, 1, 1, 1, 0, 1]
        );
        let h = from_bytes::<u16>(&run(DType::Int32, DType::Float16, x, 10));
        assert_eq!(f16::from_bits(h[4]).to_f32(), f32::INFINITY);
        let x: Vec<u8> =
            bytemuck::cast_slice(&[(1i64 << 40) + 5, -(1i64 << 40) - 5, i64::MAX, 300]).to_vec();
        assert_eq!(
            from_bytes::<i32>(&run(DType::Int64, DType::Int32, x.clone(), 4)),
            [5, -5, -1, 300]
        );
        assert_eq!(
            from_bytes::<f32>(&run(DType::Int64, DType::Float32, x, 4))[2],
            9.223372e18
        );
        assert_eq!(
            from_bytes::<i8>(&run(DType::Uint8, DType::Int8, vec![0, 127, 128, 255], 4)),
            [0, 127, -128, -1]
        );
        assert_eq!(
            from_bytes::<f32>(&run(DType::Bool, DType::Float32, vec![1, 0, 7], 3)),
            [1.0, 0.0, 1.0]
        );
        assert_eq!(run(DType::Bool, DType::Bool, vec![1, 0, 7], 3), [1, 0, 1]);
        let h: Vec<u8> = [f32::NAN, 65504.0, 300.5, -2.5]
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_bits().to_le_bytes())
            .collect();
        assert_eq!(
            from_bytes::<i32>(&run(DType::Float16, DType::Int32, h.clone(), 4)),
            [i32::MAX, 65504, 300, -2]
        );
        assert_eq!(run(DType::Float16, DType::Uint8, h, 4), [255, 255, 255, 0]);
    }

    #[test]
    fn unsupported_types_are_reported() {
        for (from, to) in [
            (DType::String, DType::Int32),
            (DType::Float32, DType::Float64),
            (DType::Uint16, DType::Int32),
        ] {
            let r = spec_build(build, "CAST", BuiltinOptions::None, &[(from, &[1])], to);
            assert!(matches!(r, Err(KernelError::Unsupported(_))));
        }
    }
}
