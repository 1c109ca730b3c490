//! Assembling models in code: for tests, graph passes and tools that emit
//! new models through the writer.

use std::borrow::Cow;

use crate::model::{
    builtin_code, Buffer, Model, Operator, OperatorCode, SignatureDef, SubGraph, TensorMap,
};
use crate::options::{BuiltinOptions, BuiltinOptions2};
use crate::tensor::{Tensor, TensorType};

/// Builds a model one subgraph, tensor and operator at a time.
pub struct ModelBuilder {
    model: Model<'static>,
}

impl Default for ModelBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelBuilder {
    pub fn new() -> Self {
        ModelBuilder {
            model: Model {
                version: 3,
                operator_codes: Vec::new(),
                subgraphs: Vec::new(),
                description: Some("built by ferrite".into()),
                // Buffer 0 is the empty sentinel by convention.
                buffers: vec![Buffer {
                    data: Cow::Owned(Vec::new()),
                    external: false,
                }],
                metadata_buffer: None,
                metadata: Vec::new(),
                signature_defs: Vec::new(),
            },
        }
    }

    /// Adds an empty subgraph and returns its index.
    pub fn subgraph(&mut self, name: &str) -> usize {
        self.model.subgraphs.push(SubGraph {
            tensors: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            operators: Vec::new(),
            name: Some(name.to_string()),
            debug_metadata_index: -1,
        });
        self.model.subgraphs.len() - 1
    }

    fn push_tensor(
        &mut self,
        sg: usize,
        name: &str,
        dtype: TensorType,
        shape: &[i32],
        buffer: u32,
    ) -> i32 {
        let tensors = &mut self.model.subgraphs[sg].tensors;
        tensors.push(Tensor {
            shape: Some(shape.to_vec()),
            dtype,
            buffer,
            name: Some(name.to_string()),
            quantization: None,
            is_variable: false,
            sparsity: None,
            shape_signature: None,
            has_rank: true,
            variant_tensors: Vec::new(),
        });
        (tensors.len() - 1) as i32
    }

    /// Adds a non-constant tensor; -1 dimensions go to the shape signature
    /// (with 1 in the shape), as converters write dynamic dimensions.
    pub fn tensor(&mut self, sg: usize, name: &str, dtype: TensorType, shape: &[i32]) -> i32 {
        let fixed: Vec<i32> = shape.iter().map(|&d| d.max(1)).collect();
        let t = self.push_tensor(sg, name, dtype, &fixed, 0);
        if shape.iter().any(|&d| d < 0) {
            self.model.subgraphs[sg].tensors[t as usize].shape_signature = Some(shape.to_vec());
        }
        t
    }

    /// Adds a constant tensor holding `data` (little-endian element bytes,
    /// or a STRING buffer).
    pub fn constant(
        &mut self,
        sg: usize,
        name: &str,
        dtype: TensorType,
        shape: &[i32],
        data: Vec<u8>,
    ) -> i32 {
        self.model.buffers.push(Buffer {
            data: Cow::Owned(data),
            external: false,
        });
        let buffer = (self.model.buffers.len() - 1) as u32;
        self.push_tensor(sg, name, dtype, shape, buffer)
    }

    /// Mutable access to a tensor, to set quantization or other fields.
    pub fn tensor_mut(&mut self, sg: usize, t: i32) -> &mut Tensor {
        &mut self.model.subgraphs[sg].tensors[t as usize]
    }

    fn opcode(&mut self, code: OperatorCode) -> u32 {
        if let Some(i) = self.model.operator_codes.iter().position(|c| *c == code) {
            return i as u32;
        }
        self.model.operator_codes.push(code);
        (self.model.operator_codes.len() - 1) as u32
    }

    /// Appends builtin operator `name` (schema spelling). Panics on an
    /// unknown name: builders are driven by code, not by input.
    pub fn op(
        &mut self,
        sg: usize,
        name: &str,
        inputs: &[i32],
        outputs: &[i32],
        options: BuiltinOptions,
    ) {
        let code = builtin_code(name).unwrap_or_else(|| panic!("unknown builtin operator {name}"));
        let opcode_index = self.opcode(OperatorCode::builtin(code, 1));
        self.push_op(sg, opcode_index, inputs, outputs, options, None);
    }

    /// Appends a custom operator with raw custom options.
    pub fn custom_op(
        &mut self,
        sg: usize,
        custom_code: &str,
        inputs: &[i32],
        outputs: &[i32],
        custom_options: Vec<u8>,
    ) {
        let opcode_index = self.opcode(OperatorCode {
            deprecated_builtin_code: crate::model::CUSTOM_CODE as i8,
            custom_code: Some(custom_code.to_string()),
            version: 1,
            builtin_code: crate::model::CUSTOM_CODE,
        });
        self.push_op(
            sg,
            opcode_index,
            inputs,
            outputs,
            BuiltinOptions::None,
            Some(custom_options),
        );
    }

    fn push_op(
        &mut self,
        sg: usize,
        opcode_index: u32,
        inputs: &[i32],
        outputs: &[i32],
        options: BuiltinOptions,
        custom: Option<Vec<u8>>,
    ) {
        self.model.subgraphs[sg].operators.push(Operator {
            opcode_index,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            builtin_options: options,
            custom_options: custom.map(Cow::Owned),
            custom_options_format: 0,
            mutating_variable_inputs: None,
            intermediates: None,
            builtin_options_2: BuiltinOptions2::None,
            debug_metadata_index: -1,
        });
    }

    pub fn inputs(&mut self, sg: usize, inputs: &[i32]) {
        self.model.subgraphs[sg].inputs = inputs.to_vec();
    }

    pub fn outputs(&mut self, sg: usize, outputs: &[i32]) {
        self.model.subgraphs[sg].outputs = outputs.to_vec();
    }

    /// Adds a signature over subgraph `sg` with (name, tensor) pairs.
    pub fn signature(
        &mut self,
        key: &str,
        sg: usize,
        inputs: &[(&str, i32)],
        outputs: &[(&str, i32)],
    ) {
        let maps = |v: &[(&str, i32)]| {
            v.iter()
                .map(|(n, t)| TensorMap {
                    name: Some(n.to_string()),
                    tensor_index: *t as u32,
                })
                .collect()
        };
        self.model.signature_defs.push(SignatureDef {
            inputs: maps(inputs),
            outputs: maps(outputs),
            signature_key: Some(key.to_string()),
            subgraph_index: sg as u32,
        });
    }

    /// The model as built so far.
    pub fn model(&self) -> &Model<'static> {
        &self.model
    }

    /// Encodes the model with the writer.
    pub fn finish(&self) -> crate::Result<Vec<u8>> {
        self.model.write()
    }
}

/// Little-endian bytes of a slice of numbers.
pub fn le_bytes<T: crate::Scalar>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for &v in values {
        v.to_le(&mut out);
    }
    out
}
