//! Test support: builds specs and runs kernels on literal tensors the way
//! the runtime does (aligned input buffers, shapes from `output_shapes`).

use crate::api::*;
use crate::parallel::Parallel;
use crate::strings;

fn collect<P: bytemuck::Pod>(b: &[u8]) -> Vec<P> {
    b.chunks_exact(std::mem::size_of::<P>())
        .map(bytemuck::pod_read_unaligned)
        .collect()
}

/// A test tensor: dtype, shape, bytes and optional quantization.
#[derive(Clone, Debug)]
pub struct T {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
    pub quant: Option<QuantParams>,
    pub constant: bool,
}

impl T {
    pub fn new(dtype: DType, shape: &[usize], data: Vec<u8>) -> Self {
        T {
            dtype,
            shape: shape.to_vec(),
            data,
            quant: None,
            constant: false,
        }
    }
    pub fn f32(shape: &[usize], v: &[f32]) -> Self {
        Self::new(DType::Float32, shape, bytemuck::cast_slice(v).to_vec())
    }
    pub fn i32(shape: &[usize], v: &[i32]) -> Self {
        Self::new(DType::Int32, shape, bytemuck::cast_slice(v).to_vec())
    }
    pub fn i64(shape: &[usize], v: &[i64]) -> Self {
        Self::new(DType::Int64, shape, bytemuck::cast_slice(v).to_vec())
    }
    pub fn i8(shape: &[usize], v: &[i8]) -> Self {
        Self::new(DType::Int8, shape, bytemuck::cast_slice(v).to_vec())
    }
    pub fn u8(shape: &[usize], v: &[u8]) -> Self {
        Self::new(DType::Uint8, shape, v.to_vec())
    }
    pub fn strs(shape: &[usize], v: &[&str]) -> Self {
        let s: Vec<&[u8]> = v.iter().map(|s| s.as_bytes()).collect();
        Self::new(DType::String, shape, strings::encode(&s))
    }
    /// An output placeholder of `dtype` (shape filled in by the kernel).
    pub fn out(dtype: DType) -> Self {
        Self::new(dtype, &[], Vec::new())
    }
    pub fn konst(mut self) -> Self {
        self.constant = true;
        self
    }
    pub fn quant(mut self, scale: &[f32], zero_point: &[i64], axis: usize) -> Self {
        self.quant = Some(QuantParams {
            scale: scale.to_vec(),
            zero_point: zero_point.to_vec(),
            axis,
        });
        self
    }
    pub fn as_f32(&self) -> Vec<f32> {
        collect(&self.data)
    }
    pub fn as_i32(&self) -> Vec<i32> {
        collect(&self.data)
    }
    pub fn as_i64(&self) -> Vec<i64> {
        collect(&self.data)
    }
    pub fn as_strs(&self) -> Vec<String> {
        strings::decode(&self.data)
            .unwrap()
            .iter()
            .map(|s| String::from_utf8(s.to_vec()).unwrap())
            .collect()
    }
}

/// Builds `build` with `options`, infers shapes with every input known,
/// evaluates and returns the outputs (shape and bytes).
pub fn run_op(
    build: Builder,
    name: &str,
    options: BuiltinOptions,
    inputs: &[Option<T>],
    outputs: &[T],
) -> KResult<Vec<T>> {
    run_op_threads(build, name, options, inputs, outputs, 1)
}

/// Builds the kernel as the planner would.
pub fn build_kernel(
    build: Builder,
    name: &str,
    options: BuiltinOptions,
    inputs: &[Option<T>],
    outputs: &[T],
) -> KResult<Box<dyn Kernel>> {
    build_kernel_attrs(build, name, options, &[], inputs, outputs)
}

/// Builds a named (TensorFlow or custom) op's kernel with its attributes.
pub fn build_kernel_attrs(
    build: Builder,
    name: &str,
    options: BuiltinOptions,
    attrs: &[(String, Attr)],
    inputs: &[Option<T>],
    outputs: &[T],
) -> KResult<Box<dyn Kernel>> {
    let in_specs: Vec<Option<TensorSpec>> = inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| TensorSpec {
                name: "in",
                dtype: t.dtype,
                shape: &t.shape,
                quant: t.quant.as_ref(),
                data: t.constant.then_some(t.data.as_slice()),
            })
        })
        .collect();
    let out_specs: Vec<TensorSpec> = outputs
        .iter()
        .map(|t| TensorSpec {
            name: "out",
            dtype: t.dtype,
            shape: &t.shape,
            quant: t.quant.as_ref(),
            data: None,
        })
        .collect();
    let options2 = BuiltinOptions2::None;
    let spec = OpSpec {
        code: 0,
        name,
        version: 1,
        options: &options,
        options2: &options2,
        custom_options: None,
        attrs,
        inputs: &in_specs,
        outputs: &out_specs,
    };
    build(&spec)
}

pub fn run_op_threads(
    build: Builder,
    name: &str,
    options: BuiltinOptions,
    inputs: &[Option<T>],
    outputs: &[T],
    threads: usize,
) -> KResult<Vec<T>> {
    let kernel = build_kernel(build, name, options, inputs, outputs)?;
    run_kernel(kernel.as_ref(), inputs, outputs, threads)
}

/// Runs a TensorFlow-named op built from `attrs` (`(key, value)` pairs).
pub fn run_named(
    build: Builder,
    name: &str,
    attrs: &[(&str, Attr)],
    inputs: &[Option<T>],
    outputs: &[T],
) -> KResult<Vec<T>> {
    let attrs: Vec<(String, Attr)> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let kernel = build_kernel_attrs(build, name, BuiltinOptions::None, &attrs, inputs, outputs)?;
    run_kernel(kernel.as_ref(), inputs, outputs, 1)
}

fn run_kernel(
    kernel: &dyn Kernel,
    inputs: &[Option<T>],
    outputs: &[T],
    threads: usize,
) -> KResult<Vec<T>> {
    let args: Vec<Option<ShapeArg>> = inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| ShapeArg {
                dtype: t.dtype,
                shape: &t.shape,
                value: Some(&t.data),
            })
        })
        .collect();
    let shapes = kernel.output_shapes(&args)?.expect("all inputs are known");
    assert_eq!(shapes.len(), outputs.len());
    let mut bufs: Vec<AlignedBuf> = outputs
        .iter()
        .zip(&shapes)
        .map(|(o, s)| {
            let mut b = AlignedBuf::default();
            let n: usize = s.iter().product();
            b.resize(o.dtype.element_size().map_or(0, |e| e * n));
            b
        })
        .collect();
    // Inputs are copied into aligned buffers as the runtime's are.
    let in_bufs: Vec<Option<AlignedBuf>> = inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| {
                let mut b = AlignedBuf::default();
                b.set(&t.data);
                b
            })
        })
        .collect();
    let refs: Vec<Option<TensorRef>> = inputs
        .iter()
        .zip(&in_bufs)
        .map(|(t, b)| {
            t.as_ref().zip(b.as_ref()).map(|(t, b)| TensorRef {
                dtype: t.dtype,
                shape: &t.shape,
                data: b.bytes(),
                quant: t.quant.as_ref(),
            })
        })
        .collect();
    let par = Parallel::new(threads)?;
    {
        let mut outs: Vec<TensorMut> = outputs
            .iter()
            .zip(&shapes)
            .zip(bufs.iter_mut())
            .map(|((o, s), buf)| TensorMut {
                dtype: o.dtype,
                shape: s,
                buf,
                quant: o.quant.as_ref(),
            })
            .collect();
        kernel.eval(&mut EvalIo {
            inputs: &refs,
            outputs: &mut outs,
            par: &par,
        })?;
    }
    Ok(outputs
        .iter()
        .zip(shapes)
        .zip(bufs)
        .map(|((o, s), b)| T {
            dtype: o.dtype,
            shape: s,
            data: b.bytes().to_vec(),
            quant: o.quant.clone(),
            constant: false,
        })
        .collect())
}

/// Output shapes when only the inputs marked constant have values.
pub fn plan_shapes(
    build: Builder,
    name: &str,
    options: BuiltinOptions,
    inputs: &[Option<T>],
    outputs: &[T],
) -> KResult<Option<Vec<Vec<usize>>>> {
    let kernel = build_kernel(build, name, options, inputs, outputs)?;
    let args: Vec<Option<ShapeArg>> = inputs
        .iter()
        .map(|t| {
            t.as_ref().map(|t| ShapeArg {
                dtype: t.dtype,
                shape: &t.shape,
                value: t.constant.then_some(t.data.as_slice()),
            })
        })
        .collect();
    kernel.output_shapes(&args)
}
