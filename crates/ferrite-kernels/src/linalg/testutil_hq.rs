//! Builds and runs one kernel on tensors with quantization parameters, for
//! the hybrid and int16x8 tests (expected values come from LiteRT).

use crate::api::*;
use crate::parallel::Parallel;

struct Input {
    dtype: DType,
    shape: Vec<usize>,
    data: AlignedBuf,
    constant: bool,
    quant: Option<QuantParams>,
}

pub struct QTest<'o> {
    name: &'static str,
    options: &'o BuiltinOptions,
    inputs: Vec<Option<Input>>,
    out: (DType, Option<QuantParams>),
}

/// Per-tensor (one scale) or per-axis parameters.
pub fn qp(scale: &[f32], zero_point: &[i64], axis: usize) -> Option<QuantParams> {
    Some(QuantParams {
        scale: scale.to_vec(),
        zero_point: zero_point.to_vec(),
        axis,
    })
}

impl<'o> QTest<'o> {
    pub fn new(name: &'static str, options: &'o BuiltinOptions, out: DType) -> Self {
        QTest {
            name,
            options,
            inputs: Vec::new(),
            out: (out, None),
        }
    }

    pub fn out_quant(mut self, q: Option<QuantParams>) -> Self {
        self.out.1 = q;
        self
    }

    pub fn input<T: bytemuck::Pod>(
        mut self,
        dtype: DType,
        shape: &[usize],
        values: &[T],
        constant: bool,
        quant: Option<QuantParams>,
    ) -> Self {
        let mut data = AlignedBuf::default();
        data.set(bytemuck::cast_slice(values));
        self.inputs.push(Some(Input {
            dtype,
            shape: shape.to_vec(),
            data,
            constant,
            quant,
        }));
        self
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
                    quant: i.quant.as_ref(),
                    data: i.constant.then(|| i.data.bytes()),
                })
            })
            .collect();
        let outputs = [TensorSpec {
            name: "out",
            dtype: self.out.0,
            shape: &[],
            quant: self.out.1.as_ref(),
            data: None,
        }];
        (reg.build)(&OpSpec {
            code: 0,
            name: self.name,
            version: 1,
            options: self.options,
            options2: &BuiltinOptions2::None,
            custom_options: None,
            attrs: &[],
            inputs: &inputs,
            outputs: &outputs,
        })
    }

    /// Builds, infers the output shape and evaluates: (shape, output bytes).
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
        let size = match self.out.0 {
            DType::Int16 => 2,
            DType::Int8 | DType::Uint8 => 1,
            DType::Int64 | DType::Float64 => 8,
            _ => 4,
        };
        let mut buf = AlignedBuf::default();
        // 0xff-filled so unwritten outputs show (NaN for floats).
        buf.set(&vec![0xff; shape.iter().product::<usize>() * size]);
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
                dtype: self.out.0,
                shape: &shape,
                buf: &mut buf,
                quant: self.out.1.as_ref(),
            }];
            kernel.eval(&mut EvalIo {
                inputs: &inputs,
                outputs: &mut outputs,
                par: &par,
            })?;
        }
        Ok((shape, buf.bytes().to_vec()))
    }

    pub fn run_f32(&self, threads: usize) -> (Vec<usize>, Vec<f32>) {
        let (s, b) = self
            .run(threads)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        (s, decode(&b))
    }

    pub fn run_i16(&self, threads: usize) -> (Vec<usize>, Vec<i16>) {
        let (s, b) = self
            .run(threads)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name));
        (s, decode(&b))
    }
}

fn decode<T: bytemuck::Pod>(b: &[u8]) -> Vec<T> {
    b.chunks_exact(std::mem::size_of::<T>())
        .map(bytemuck::pod_read_unaligned)
        .collect()
}
