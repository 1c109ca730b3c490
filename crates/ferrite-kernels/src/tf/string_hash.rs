//! StringToHashBucketFast (farmhash Fingerprint64), StringToHashBucket
//! (TF's legacy Hash64) and StringToHashBucketStrong (SipHash-2-4 under the
//! `key` attribute): each string's hash modulo `num_buckets`, as int64.

use super::string_values;
use crate::api::*;
use crate::registry::{named, NamedRegistration};
use crate::tf::hashes;

pub static OPS: &[NamedRegistration] = &[
    named("StringToHashBucketFast", build_fast),
    named("StringToHashBucket", build_legacy),
    named("StringToHashBucketStrong", build_strong),
];

#[derive(Clone, Copy)]
enum Hash {
    Fast,
    Legacy,
    Strong(u64, u64),
}

struct HashBucket {
    hash: Hash,
    buckets: u64,
}

fn build_with(spec: &OpSpec<'_>, hash: Hash) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    if spec.input(0)?.dtype != DType::String {
        return spec.unsupported(format!("input dtype {}", spec.input(0)?.dtype));
    }
    if spec.output(0)?.dtype != DType::Int64 {
        return spec.unsupported(format!("output dtype {}", spec.output(0)?.dtype));
    }
    let Some(n) = spec.attr("num_buckets") else {
        return invalid(format!("{}: missing attr num_buckets", spec.name));
    };
    let n = match n {
        Attr::Int(n) => *n,
        other => {
            return invalid(format!(
                "{}: attr num_buckets should be an int, is {other:?}",
                spec.name
            ))
        }
    };
    // TF: "Must have num_buckets > 0".
    let buckets = match u64::try_from(n) {
        Ok(b) if b > 0 => b,
        _ => return invalid(format!("{}: Must have num_buckets > 0, got {n}", spec.name)),
    };
    Ok(Box::new(HashBucket { hash, buckets }))
}

pub fn build_fast(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_with(spec, Hash::Fast)
}

pub fn build_legacy(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_with(spec, Hash::Legacy)
}

pub fn build_strong(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let key = match spec.attr("key") {
        Some(Attr::IntList(k)) if k.len() == 2 => (k[0] as u64, k[1] as u64),
        Some(Attr::IntList(k)) => {
            return invalid(format!(
                "{}: Key must have 2 elements, has {}",
                spec.name,
                k.len()
            ))
        }
        None => return invalid(format!("{}: missing attr key", spec.name)),
        Some(other) => {
            return invalid(format!(
                "{}: attr key should be a list of ints, is {other:?}",
                spec.name
            ))
        }
    };
    build_with(spec, Hash::Strong(key.0, key.1))
}

impl Kernel for HashBucket {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let v = string_values(&io.input(0)?)?;
        let out = io.outputs[0].typed::<i64>()?;
        for (o, s) in out.iter_mut().zip(v) {
            let h = match self.hash {
                Hash::Fast => hashes::fingerprint64(s),
                Hash::Legacy => hashes::tf_hash64(s),
                Hash::Strong(k0, k1) => hashes::siphash24(k0, k1, s),
            };
            // The remainder is below num_buckets, itself an int64.
            *o = (h % self.buckets) as i64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::{build_fast, build_legacy, build_strong};
    use crate::api::Builder;

    fn run(build: Builder, attrs: &[(&str, Attr)], v: &[&str]) -> Result<Vec<i64>, String> {
        run_named(
            build,
            "StringToHashBucket",
            attrs,
            &[Some(T::strs(&[v.len()], v))],
            &[T::out(DType::Int64)],
        )
        .map(|o| o[0].as_i64())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn buckets_match_tensorflow() {
        // Values from TF 2.21 (to_hash_bucket_fast / to_hash_bucket /
        // to_hash_bucket_strong).
        let n = [("num_buckets", Attr::Int(1000))];
        assert_eq!(
            run(build_fast, &n, &["", "a", "abc"]).unwrap(),
            [263, 939, 385]
        );
        assert_eq!(
            run(build_legacy, &n, &["", "a", "abc"]).unwrap(),
            [899, 868, 710]
        );
        let key = ("key", Attr::IntList(vec![0xDECAFCAFFE, 17]));
        assert_eq!(
            run(build_strong, &[n[0].clone(), key], &["", "hello"]).unwrap(),
            [527, 753]
        );
    }

    #[test]
    fn rejects_bad_attrs() {
        let e = run(build_fast, &[("num_buckets", Attr::Int(0))], &["a"]).unwrap_err();
        assert!(e.contains("num_buckets > 0"), "{e}");
        let e = run(build_fast, &[("num_buckets", s("3"))], &["a"]).unwrap_err();
        assert!(e.contains("should be an int"), "{e}");
        assert!(run(build_fast, &[], &["a"]).is_err());
        let key = ("key", Attr::IntList(vec![1]));
        let e = run(build_strong, &[("num_buckets", Attr::Int(5)), key], &["a"]).unwrap_err();
        assert!(e.contains("2 elements"), "{e}");
    }
}
