//! Builds and runs one kernel from literal tensors, for the unit tests of
//! this family and of conv.

use crate::api::*;
use crate::parallel::Parallel;

struct Input {
    dtype: DType,
    shape: Vec<usize>,
    data: AlignedBuf,
    constant: bool,
}

pub struct OpTest<'o> {
    name: &'static str,
    version: i32,
    options: &'o BuiltinOptions,
    options2: BuiltinOptions2,
    inputs: Vec<Option<Input>>,
    out_dtype: DType,
}

impl<'o> OpTest<'o> {
    pub fn new(name: &'static str, options: &'o BuiltinOptions) -> Self {
        OpTest {
            name,
            version: 1,
            options,
            options2: BuiltinOptions2::None,
            inputs: Vec::new(),
            out_dtype: DType::Float32,
        }
    }

    pub fn input_raw(
        mut self,
        dtype: DType,
        shape: &[usize],
        bytes: &[u8],
        constant: bool,
    ) -> Self {
        let mut data = AlignedBuf::default();
        data.set(bytes);
        self.inputs.push(Some(Input {
            dtype,
            shape: shape.to_vec(),
            data,
            constant,
        }));
        self
    }

    pub fn input_f32(self, shape: &[usize], values: &[f32], constant: bool) -> Self {
        self.input_raw(
            DType::Float32,
            shape,
            bytemuck::cast_slice(values),
            constant,
        )
    }

    pub fn input_i32(self, shape: &[usize], values: &[i32], constant: bool) -> Self {
        self.input_raw(DType::Int32, shape, bytemuck::cast_slice(values), constant)
    }

    pub fn omitted(mut self) -> Self {
        self.inputs.push(None);
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
                    quant: None,
                    data: i.constant.then(|| i.data.bytes()),
                })
            })
            .collect();
        let outputs = [TensorSpec {
            name: "out",
            dtype: self.out_dtype,
            shape: &[],
            quant: None,
            data: None,
        }];
        (reg.build)(&OpSpec {
            code: 0,
            name: self.name,
            version: self.version,
            options: self.options,
            options2: &self.options2,
            custom_options: None,
            attrs: &[],
            inputs: &inputs,
            outputs: &outputs,
        })
    }

    /// Output shapes with every input value known (as at eval time).
    pub fn shapes(&self) -> KResult<Vec<Vec<usize>>> {
        let kernel = self.build()?;
        self.shapes_of(kernel.as_ref())
    }

    fn shapes_of(&self, kernel: &dyn Kernel) -> KResult<Vec<Vec<usize>>> {
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
        kernel
            .output_shapes(&args)?
            .ok_or_else(|| KernelError::InvalidInput("output shape unknown".into()))
    }

    /// Builds, infers the output shape and evaluates on `threads` threads.
    pub fn run(&self, threads: usize) -> KResult<(Vec<usize>, Vec<f32>)> {
        let kernel = self.build()?;
        self.run_kernel(kernel.as_ref(), threads)
    }

    /// Evaluates an already built kernel on these inputs (as after a resize).
    pub fn run_kernel(
        &self,
        kernel: &dyn Kernel,
        threads: usize,
    ) -> KResult<(Vec<usize>, Vec<f32>)> {
        let shape = self.shapes_of(kernel)?.remove(0);
        let mut buf = AlignedBuf::default();
        // NaN-filled so unwritten outputs show.
        let n: usize = shape.iter().product();
        buf.set(bytemuck::cast_slice(&vec![f32::NAN; n]));
        let inputs: Vec<Option<TensorRef>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| TensorRef {
                    dtype: i.dtype,
                    shape: &i.shape,
                    data: i.data.bytes(),
                    quant: None,
                })
            })
            .collect();
        let par = Parallel::new(threads)?;
        {
            let mut outputs = [TensorMut {
                dtype: self.out_dtype,
                shape: &shape,
                buf: &mut buf,
                quant: None,
            }];
            kernel.eval(&mut EvalIo {
                inputs: &inputs,
                outputs: &mut outputs,
                par: &par,
            })?;
        }
        let values = bytemuck::cast_slice::<u8, f32>(buf.bytes()).to_vec();
        Ok((shape, values))
    }

    /// Median seconds per eval over `reps` evals of one built kernel.
    pub fn time_eval(&self, threads: usize, reps: usize) -> f64 {
        let kernel = self.build().unwrap();
        let shape = self.shapes_of(kernel.as_ref()).unwrap().remove(0);
        let mut buf = AlignedBuf::default();
        buf.resize(shape.iter().product::<usize>() * 4);
        let inputs: Vec<Option<TensorRef>> = self
            .inputs
            .iter()
            .map(|i| {
                i.as_ref().map(|i| TensorRef {
                    dtype: i.dtype,
                    shape: &i.shape,
                    data: i.data.bytes(),
                    quant: None,
                })
            })
            .collect();
        let par = Parallel::new(threads).unwrap();
        let mut outputs = [TensorMut {
            dtype: self.out_dtype,
            shape: &shape,
            buf: &mut buf,
            quant: None,
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

    pub fn run_f32(&self, threads: usize) -> (Vec<usize>, Vec<f32>) {
        self.run(threads)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }
}

pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "[{i}]: got {g}, want {w}"
        );
    }
}

/// Deterministic pseudo-random values in [-1, 1).
pub fn rand_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
