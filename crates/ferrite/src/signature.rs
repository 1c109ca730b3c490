//! Running a model through one of its signatures, by input/output names.

use ferrite_graph::Signature;

use crate::{check_dtype, typed, Element, Error, Interpreter, Result, TensorInfo, TensorView};

/// Runs signature `key` on an interpreter; state is shared with every
/// other signature of the same interpreter.
pub struct SignatureRunner<'a> {
    interp: &'a mut Interpreter,
    sig: Signature,
}

impl<'a> SignatureRunner<'a> {
    pub(crate) fn new(interp: &'a mut Interpreter, key: &str) -> Result<Self> {
        let graph = interp.runtime_ref().graph();
        let sig = graph.signature(key).cloned().ok_or_else(|| {
            let keys: Vec<&str> = graph.signatures.iter().map(|s| s.key.as_str()).collect();
            Error::invalid(format!(
                "unknown signature '{key}' (the model has {keys:?})"
            ))
        })?;
        Ok(SignatureRunner { interp, sig })
    }

    pub fn key(&self) -> &str {
        &self.sig.key
    }

    /// Inputs by signature name, in signature order.
    pub fn inputs(&self) -> Vec<(String, TensorInfo)> {
        self.sig
            .inputs
            .iter()
            .map(|(n, t)| (n.clone(), self.interp.tensor_info(self.sig.subgraph, *t)))
            .collect()
    }

    pub fn outputs(&self) -> Vec<(String, TensorInfo)> {
        self.sig
            .outputs
            .iter()
            .map(|(n, t)| (n.clone(), self.interp.tensor_info(self.sig.subgraph, *t)))
            .collect()
    }

    fn input_tensor(&self, name: &str) -> Result<usize> {
        self.sig
            .inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = self.sig.inputs.iter().map(|(n, _)| n.as_str()).collect();
                Error::invalid(format!(
                    "signature '{}' has no input '{name}' (inputs: {names:?})",
                    self.sig.key
                ))
            })
    }

    fn output_tensor(&self, name: &str) -> Result<usize> {
        self.sig
            .outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = self.sig.outputs.iter().map(|(n, _)| n.as_str()).collect();
                Error::invalid(format!(
                    "signature '{}' has no output '{name}' (outputs: {names:?})",
                    self.sig.key
                ))
            })
    }

    pub fn resize_input(&mut self, name: &str, shape: &[usize]) -> Result<()> {
        let t = self.input_tensor(name)?;
        Ok(self
            .interp
            .runtime()
            .resize_tensor(self.sig.subgraph, t, shape)?)
    }

    pub fn set_input<T: Element>(&mut self, name: &str, data: &[T]) -> Result<()> {
        let t = self.input_tensor(name)?;
        check_dtype(&self.interp.tensor_info(self.sig.subgraph, t), T::DTYPE)?;
        Ok(self.interp.runtime().set_tensor_data(
            self.sig.subgraph,
            t,
            bytemuck::cast_slice(data),
        )?)
    }

    pub fn set_input_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let t = self.input_tensor(name)?;
        Ok(self
            .interp
            .runtime()
            .set_tensor_data(self.sig.subgraph, t, data)?)
    }

    /// Sets a STRING input from its elements in row-major order.
    pub fn set_input_strings<S: AsRef<[u8]>>(&mut self, name: &str, strings: &[S]) -> Result<()> {
        let t = self.input_tensor(name)?;
        check_dtype(
            &self.interp.tensor_info(self.sig.subgraph, t),
            crate::DType::String,
        )?;
        Ok(self.interp.runtime().set_tensor_data(
            self.sig.subgraph,
            t,
            &ferrite_kernels::strings::encode(strings),
        )?)
    }

    pub fn invoke(&mut self) -> Result<()> {
        Ok(self.interp.runtime().run_subgraph(self.sig.subgraph)?)
    }

    pub fn output(&self, name: &str) -> Result<TensorView<'_>> {
        let t = self.output_tensor(name)?;
        Ok(self.interp.runtime_ref().tensor(self.sig.subgraph, t)?)
    }

    pub fn output_as<T: Element>(&self, name: &str) -> Result<&[T]> {
        typed(self.output(name)?)
    }
}
