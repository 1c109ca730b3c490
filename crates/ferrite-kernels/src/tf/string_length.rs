//! StringLength: bytes, or UTF-8 characters (bytes that are not
//! continuation bytes, as TF counts them), of each string.

use super::{attr_str, string_values};
use crate::api::*;
use crate::registry::{named, NamedRegistration};

pub static OPS: &[NamedRegistration] = &[named("StringLength", build)];

struct StringLength {
    utf8: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    let utf8 = match attr_str(spec, "unit", "BYTE")? {
        "BYTE" => false,
        "UTF8_CHAR" => true,
        u => return spec.unsupported(format!("unit {u}")),
    };
    if spec.output(0)?.dtype != DType::Int32 {
        return spec.unsupported(format!("output dtype {}", spec.output(0)?.dtype));
    }
    Ok(Box::new(StringLength { utf8 }))
}

impl Kernel for StringLength {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let v = string_values(&io.input(0)?)?;
        let out = io.outputs[0].typed::<i32>()?;
        for (o, s) in out.iter_mut().zip(v) {
            let n = if self.utf8 {
                s.iter().filter(|&&b| b & 0xc0 != 0x80).count()
            } else {
                s.len()
            };
            *o = i32::try_from(n)
                .map_err(|_| KernelError::InvalidInput("string longer than INT32".into()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::build;

    #[test]
    fn counts_bytes_or_utf8_chars() {
        let x = T::strs(&[3], &["", "héllo", "日本"]);
        let run = |unit: &str| {
            run_named(
                build,
                "StringLength",
                &[("unit", s(unit))],
                &[Some(x.clone())],
                &[T::out(DType::Int32)],
            )
        };
        assert_eq!(run("BYTE").unwrap()[0].as_i32(), vec![0, 6, 6]);
        assert_eq!(run("UTF8_CHAR").unwrap()[0].as_i32(), vec![0, 5, 2]);
        assert!(run("UTF16")
            .unwrap_err()
            .to_string()
            .contains("unsupported"));
    }
}
