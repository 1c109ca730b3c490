//! Builds and runs one quantized kernel from literal tensors (the int8
//! tests of linalg and conv), with quantization on every tensor.

use crate::api::*;
use crate::parallel::Parallel;

struct Input {
    dtype: DType,
    shape: Vec<usize>,
    data: AlignedBuf,
    quant: Option<QuantParams>,
    constant: bool,
}

pub struct QOpTest<'o> {
    name: &'static str,
    options: &'o BuiltinOptions,
    inputs: Vec<Option<Input>>,
    out_dtype: DType,
    out_quant: Option<QuantParams>,
}

/// Per-tensor parameters.
pub fn qp(scale: f32, zp: i64) -> Option<QuantParams> {
    Some(QuantParams {
        scale: vec![scale],
        zero_point: vec![zp],
        axis: 0,
    })
}

/// Per-axis parameters with zero points 0.
pub fn qpa(scales: &[f32], axis: usize) -> Option<QuantParams> {
    Some(QuantParams {
        scale: scales.to_vec(),
        zero_point: vec![0; scales.len()],
        axis,
    })
}

impl<'o> QOpTest<'o> {
    pub fn new(name: &'static str, options: &'o BuiltinOptions) -> Self {
        QOpTest {
            name,
            options,
            inputs: Vec::new(),
            out_dtype: DType::Int8,
            out_quant: None,
        }
    }

    pub fn input(
        mut self,
        dtype: DType,
        shape: &[usize],
        bytes: &[u8],
        quant: Option<QuantParams>,
        constant: bool,
    ) -> Self {
        let mut data = AlignedBuf::default();
        data.set(bytes);
        self.inputs.push(Some(Input {
            dtype,
            shape: shape.to_vec(),
            data,
            quant,
            constant,
        }));
        self
    }

    pub fn i8(self, shape: &[usize], v: &[i8], quant: Option<QuantParams>, constant: bool) -> Self {
        self.input(DType::Int8, shape, bytemuck::cast_slice(v), quant, constant)
    }

    pub fn i32(
        self,
        shape: &[usize],
        v: &[i32],
        quant: Option<QuantParams>,
        constant: bool,
    ) -> Self {
        self.input(
            DType::Int32,
            shape,
            bytemuck::cast_slice(v),
            quant,
            constant,
        )
    }

    pub fn output(mut self, dtype: DType, quant: Option<QuantParams>) -> Self {
        self.out_dtype = dtype;
        self.out_quant = quant;
        self
    }

    pub fn build(&self) -> KResult<Box<dyn Kernel>> {
        let reg = crate::registry::all()
            .find(|r| r.op == self.name)
            .unwrap_or_else(|| panic!("{} is not registered", self.name));
        let inputs: Vec<Option<TensorSpec>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| TensorSpec {
                    name: "t",
                    dtype: i.dtype,
                    shape: &i.shape,
                    quant: i.quant.as_ref(),
                    data: i.constant.then(|| i.data.bytes()),
                })
            })
            .collect();
        let outputs = [TensorSpec {
            name: "out",
            dtype: self.out_dtype,
            shape: &[],
            quant: self.out_quant.as_ref(),
            data: None,
        }];
        (reg.build)(&OpSpec {
            code: 0,
            name: self.name,
            version: 3,
            options: self.options,
            options2: &BuiltinOptions2::None,
            custom_options: None,
            attrs: &[],
            inputs: &inputs,
            outputs: &outputs,
        })
    }

    /// Builds, infers the shape and evaluates on `threads` threads: the
    /// output shape and bytes.
    pub fn run(&self, threads: usize) -> KResult<(Vec<usize>, Vec<u8>)> {
        let kernel = self.build()?;
        let args: Vec<Option<ShapeArg>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| ShapeArg {
                    dtype: i.dtype,
                    shape: &i.shape,
                    value: Some(i.data.bytes()),
                })
            })
            .collect();
        let shape = kernel
            .output_shapes(&args)?
            .ok_or_else(|| KernelError::InvalidInput("output shape unknown".into()))?
            .remove(0);
        let n: usize = shape.iter().product();
        let mut buf = AlignedBuf::default();
        // A pattern unlikely to be a right answer everywhere.
        buf.set(&vec![0x5a; n * self.out_dtype.element_size().unwrap_or(1)]);
        let inputs: Vec<Option<TensorRef>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| TensorRef {
                    dtype: i.dtype,
                    shape: &i.shape,
                    data: i.data.bytes(),
                    quant: i.quant.as_ref(),
                })
            })
            .collect();
        let par = Parallel::new(threads)?;
        {
            let mut outputs = [TensorMut {
                dtype: self.out_dtype,
                shape: &shape,
                buf: &mut buf,
                quant: self.out_quant.as_ref(),
            }];
            kernel.eval(&mut EvalIo {
                inputs: &inputs,
                outputs: &mut outputs,
                par: &par,
            })?;
        }
        Ok((shape, buf.bytes().to_vec()))
    }

    /// [`Self::run`] for an int8 output, panicking on errors.
    pub fn run_i8(&self, threads: usize) -> (Vec<usize>, Vec<i8>) {
        let (s, b) = self
            .run(threads)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        (s, b.into_iter().map(|x| x as i8).collect())
    }

    /// Median seconds per eval over `reps` evals of one built kernel.
    pub fn time_eval(&self, threads: usize, reps: usize) -> f64 {
        let kernel = self.build().unwrap();
        let args: Vec<Option<ShapeArg>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| ShapeArg {
                    dtype: i.dtype,
                    shape: &i.shape,
                    value: Some(i.data.bytes()),
                })
            })
            .collect();
        let shape = kernel.output_shapes(&args).unwrap().unwrap().remove(0);
        let mut buf = AlignedBuf::default();
        buf.resize(shape.iter().product::<usize>());
        let inputs: Vec<Option<TensorRef>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| TensorRef {
                    dtype: i.dtype,
                    shape: &i.shape,
                    data: i.data.bytes(),
                    quant: i.quant.as_ref(),
                })
            })
            .collect();
        let par = Parallel::new(threads).unwrap();
        let mut outputs = [TensorMut {
            dtype: self.out_dtype,
            shape: &shape,
            buf: &mut buf,
            quant: self.out_quant.as_ref(),
        }];
        crate::linalg::bench::median_secs(reps, || {
            kernel
                .eval(&mut EvalIo {
                    inputs: &inputs,
                    outputs: &mut outputs,
                    par: &par,
                })
                .unwrap()
        })
    }
}

/// Deterministic pseudo-random integers in `lo..=hi` (the generator the
/// LiteRT reference cases were produced with).
pub fn rand_ints(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

pub fn rand_i8(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i8> {
    rand_ints(n, seed, lo, hi)
        .into_iter()
        .map(|v| v as i8)
        .collect()
}

pub fn rand_i32(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i32> {
    rand_ints(n, seed, lo, hi)
        .into_iter()
        .map(|v| v as i32)
        .collect()
}
