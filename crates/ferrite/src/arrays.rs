//! ndarray views in and out (feature `ndarray`).

use ndarray::{ArrayViewD, IxDyn};

use crate::{Element, Error, Interpreter, Result};

impl Interpreter {
    /// Sets input `i` from an array view, resizing the input first when the
    /// view's shape differs. Non-contiguous views are copied.
    pub fn set_input_array<T: Element>(
        &mut self,
        i: usize,
        array: ArrayViewD<'_, T>,
    ) -> Result<()> {
        let shape = array.shape().to_vec();
        let current = self
            .inputs()
            .get(i)
            .map(|t| t.shape.clone())
            .ok_or_else(|| Error::invalid(format!("input {i} does not exist")))?;
        if current != shape {
            self.resize_input(i, &shape)?;
        }
        match array.as_slice() {
            Some(s) => self.set_input(i, s),
            None => self.set_input(i, &array.iter().copied().collect::<Vec<T>>()),
        }
    }

    /// Output `i` as an array view, without copying.
    pub fn output_array<T: Element>(&self, i: usize) -> Result<ArrayViewD<'_, T>> {
        let view = self.output(i)?;
        let data = crate::typed::<T>(view)?;
        ArrayViewD::from_shape(IxDyn(view.shape), data).map_err(|e| Error::invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use ferrite_format::build::{le_bytes, ModelBuilder};
    use ferrite_format::options::{AddOptions, BuiltinOptions};
    use ferrite_format::TensorType;
    use ndarray::{ArrayD, IxDyn};

    use crate::{Interpreter, Model, Options};

    #[test]
    fn arrays_in_and_out_with_resize() {
        let mut b = ModelBuilder::new();
        let sg = b.subgraph("main");
        let x = b.tensor(sg, "x", TensorType::Float32, &[-1, 2]);
        let c = b.constant(sg, "c", TensorType::Float32, &[2], le_bytes(&[10f32, 20.0]));
        let y = b.tensor(sg, "y", TensorType::Float32, &[-1, 2]);
        b.op(
            sg,
            "ADD",
            &[x, c],
            &[y],
            BuiltinOptions::AddOptions(AddOptions::default()),
        );
        b.inputs(sg, &[x]);
        b.outputs(sg, &[y]);
        let model = Model::from_bytes(b.finish().unwrap()).unwrap();
        let mut interp = Interpreter::new(&model, Options::default()).unwrap();
        let input = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        // A transposed (non-contiguous) view exercises the copying path.
        let t = input.t().to_owned();
        interp.set_input_array(0, t.t()).unwrap();
        interp.invoke().unwrap();
        let out = interp.output_array::<f32>(0).unwrap();
        assert_eq!(out.shape(), &[3, 2]);
        assert_eq!(
            out.iter().copied().collect::<Vec<_>>(),
            vec![11., 22., 13., 24., 15., 26.]
        );
    }
}
