//! StringSplitV2: splits each string of a vector on `sep` (Python's
//! `str.split` semantics; an empty `sep` splits on runs of ASCII
//! whitespace), giving the sparse triple indices [N, 2], values [N] and
//! dense shape [rows, max tokens].

use super::{arg_strings, attr_int, scalar_string, string_values, to_i64};
use crate::api::*;
use crate::registry::{named, NamedRegistration};
use crate::strings;

pub static OPS: &[NamedRegistration] = &[named("StringSplitV2", build)];

struct SplitV2 {
    maxsplit: i64,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 3)?;
    Ok(Box::new(SplitV2 {
        maxsplit: attr_int(spec, "maxsplit", -1)?,
    }))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The tokens of one string, as TF's SplitV2 yields them.
pub fn split<'a>(text: &'a [u8], sep: &[u8], maxsplit: i64) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    if maxsplit == 0 {
        out.push(text);
        return out;
    }
    let mut rest = text;
    let mut splits = 0i64;
    if sep.is_empty() {
        let skip = |r: &'a [u8]| &r[r.iter().position(|&b| !is_space(b)).unwrap_or(r.len())..];
        rest = skip(rest);
        while !rest.is_empty() {
            let end = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = skip(&rest[end..]);
            splits += 1;
            if maxsplit > 0 && splits == maxsplit {
                out.push(rest);
                return out;
            }
        }
        return out;
    }
    while let Some(p) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..p]);
        rest = &rest[p + sep.len()..];
        splits += 1;
        if maxsplit > 0 && splits == maxsplit {
            break;
        }
    }
    out.push(rest);
    out
}

impl SplitV2 {
    fn tokens<'a>(&self, input: &[&'a [u8]], sep: &[u8]) -> Vec<Vec<&'a [u8]>> {
        input.iter().map(|t| split(t, sep, self.maxsplit)).collect()
    }
}

fn check_rank(shape: &[usize]) -> KResult<()> {
    if shape.len() != 1 {
        return invalid(format!(
            "StringSplitV2 input must be a vector, has shape {shape:?}"
        ));
    }
    Ok(())
}

impl Kernel for SplitV2 {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        check_rank(x.shape)?;
        let (Some(input), Some(sep)) = (arg_strings(x)?, arg_strings(shape_input(inputs, 1)?)?)
        else {
            return Ok(None);
        };
        let [sep] = sep.as_slice() else {
            return invalid("StringSplitV2 sep must hold one string");
        };
        let n: usize = self.tokens(&input, sep).iter().map(Vec::len).sum();
        Ok(Some(vec![vec![n, 2], vec![n], vec![2]]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        check_rank(x.shape)?;
        let input = string_values(&x)?;
        let sep = scalar_string(&io.input(1)?, "StringSplitV2 sep")?;
        let rows = self.tokens(&input, sep);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        let mut widest = 0;
        for (r, toks) in rows.iter().enumerate() {
            widest = widest.max(toks.len());
            for (c, t) in toks.iter().enumerate() {
                indices.extend([to_i64(r)?, to_i64(c)?]);
                values.push(*t);
            }
        }
        io.outputs[0].typed::<i64>()?.copy_from_slice(&indices);
        io.outputs[1].buf.set(&strings::encode(&values));
        io.outputs[2]
            .typed::<i64>()?
            .copy_from_slice(&[to_i64(rows.len())?, to_i64(widest)?]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::{build, split};

    #[test]
    fn splits_like_python_str_split() {
        let b = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let sp = |t: &str, sep: &str, m| {
            split(t.as_bytes(), sep.as_bytes(), m)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        };
        assert_eq!(sp("1,,2", ",", -1), b(&["1", "", "2"]));
        assert_eq!(sp("1<>2<>3", "<>", 1), b(&["1", "2<>3"]));
        assert_eq!(sp("", ",", -1), b(&[""]));
        assert_eq!(sp("  a  b c ", "", -1), b(&["a", "b", "c"]));
        assert_eq!(sp("  a  b c ", "", 1), b(&["a", "b c "]));
        assert_eq!(sp(" \t", "", -1), b(&[]));
        assert_eq!(sp("a b", " ", 0), b(&["a b"]));
    }

    #[test]
    fn gives_the_sparse_triple() {
        let x = T::strs(&[3], &["a b", "", "c d e"]);
        let got = run_named(
            build,
            "StringSplitV2",
            &[("maxsplit", Attr::Int(-1))],
            &[Some(x), Some(T::strs(&[], &[" "]))],
            &[
                T::out(DType::Int64),
                T::out(DType::String),
                T::out(DType::Int64),
            ],
        )
        .unwrap();
        assert_eq!(got[0].shape, vec![6, 2]);
        assert_eq!(got[0].as_i64(), vec![0, 0, 0, 1, 1, 0, 2, 0, 2, 1, 2, 2]);
        assert_eq!(got[1].as_strs(), vec!["a", "b", "", "c", "d", "e"]);
        assert_eq!(got[2].as_i64(), vec![3, 3]);
    }
}
