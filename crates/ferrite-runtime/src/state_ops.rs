//! Resource variables and hash tables (builtin and Flex) over interpreter
//! state. Each op takes its inputs by value and returns its outputs.

use ferrite_format::TensorType;
use ferrite_kernels::strings;

use crate::control::{Control, HashTable, State, StoredTensor, TableKey, TableRef};
use crate::error::{Result, RuntimeError};

pub(crate) fn resource_tensor(id: i32) -> StoredTensor {
    StoredTensor {
        dtype: TensorType::Resource,
        shape: vec![],
        data: id.to_le_bytes().to_vec(),
    }
}

fn resource_id(t: Option<&StoredTensor>) -> Result<i32> {
    t.and_then(|t| t.data.get(..4))
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| RuntimeError::state("resource handle was never created"))
}

fn arg<'a>(inputs: &'a [Option<StoredTensor>], k: usize, what: &str) -> Result<&'a StoredTensor> {
    inputs
        .get(k)
        .and_then(Option::as_ref)
        .ok_or_else(|| RuntimeError::invalid(format!("missing {what} input")))
}

/// The elements of `t`: strings, or the bytes of each fixed-size element.
fn elements(t: &StoredTensor) -> Result<Vec<Vec<u8>>> {
    if t.dtype == TensorType::String {
        return Ok(strings::decode(&t.data)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect());
    }
    let size = t.dtype.element_size().ok_or_else(|| {
        RuntimeError::unsupported(format!("hash table elements of dtype {}", t.dtype))
    })?;
    Ok(t.data.chunks_exact(size).map(<[u8]>::to_vec).collect())
}

fn table_key(dtype: TensorType, bytes: Vec<u8>) -> TableKey {
    match dtype {
        TensorType::Int32 => {
            TableKey::Int(i32::from_le_bytes(bytes[..4].try_into().unwrap_or_default()) as i64)
        }
        TensorType::Int64 => TableKey::Int(i64::from_le_bytes(
            bytes[..8].try_into().unwrap_or_default(),
        )),
        _ => TableKey::Bytes(bytes),
    }
}

fn check_dtype(what: &str, got: TensorType, want: TensorType) -> Result<()> {
    if got != want {
        return Err(RuntimeError::invalid(format!(
            "hash table {what} are {got}, the table holds {want}"
        )));
    }
    Ok(())
}

fn encode(dtype: TensorType, shape: Vec<usize>, values: Vec<Vec<u8>>) -> StoredTensor {
    let data = if dtype == TensorType::String {
        strings::encode(&values)
    } else {
        values.concat()
    };
    StoredTensor { dtype, shape, data }
}

fn table(state: &mut State, r: TableRef) -> Result<&mut HashTable> {
    state
        .tables
        .get_mut(&r)
        .ok_or_else(|| RuntimeError::state("hash table was never created"))
}

/// Runs one state op.
pub(crate) fn exec(
    state: &mut State,
    control: &Control,
    inputs: &[Option<StoredTensor>],
) -> Result<Vec<StoredTensor>> {
    let flex = matches!(
        control,
        Control::FlexImport | Control::FlexFind | Control::FlexSize
    );
    let table_ref = |id| {
        if flex {
            TableRef::Flex(id)
        } else {
            TableRef::Builtin(id)
        }
    };
    Ok(match control {
        Control::VarHandle {
            container,
            shared_name,
        } => {
            vec![resource_tensor(state.resource_id(container, shared_name))]
        }
        Control::AssignVariable => {
            let id = resource_id(inputs.first().and_then(Option::as_ref))?;
            let value = arg(inputs, 1, "value")?.clone();
            if let Some(old) = state.variables.get(&id) {
                if old.dtype != value.dtype {
                    return Err(RuntimeError::state(format!(
                        "variable holds {} but {} was assigned",
                        old.dtype, value.dtype
                    )));
                }
            }
            state.variables.insert(id, value);
            vec![]
        }
        Control::ReadVariable => {
            let id = resource_id(inputs.first().and_then(Option::as_ref))?;
            let v = state.variables.get(&id).ok_or_else(|| {
                RuntimeError::state("variable is read before any ASSIGN_VARIABLE gave it a value")
            })?;
            vec![v.clone()]
        }
        Control::HashTable {
            table_id,
            key,
            value,
        } => {
            state
                .tables
                .entry(TableRef::Builtin(*table_id))
                .or_insert_with(|| HashTable {
                    key: *key,
                    value: *value,
                    imported: false,
                    map: Default::default(),
                });
            vec![resource_tensor(*table_id)]
        }
        Control::FlexHashTable { name, key, value } => {
            let next = state.flex_table_ids.len() as i32;
            let id = *state.flex_table_ids.entry(name.clone()).or_insert(next);
            let t = state
                .tables
                .entry(TableRef::Flex(id))
                .or_insert_with(|| HashTable {
                    key: *key,
                    value: *value,
                    imported: false,
                    map: Default::default(),
                });
            if (t.key, t.value) != (*key, *value) {
                return Err(RuntimeError::state(format!(
                    "table '{}' exists with dtypes {}->{}, not {key}->{value}",
                    name.1, t.key, t.value
                )));
            }
            vec![resource_tensor(id)]
        }
        Control::HashTableImport | Control::FlexImport => {
            let r = table_ref(resource_id(inputs.first().and_then(Option::as_ref))?);
            let keys = arg(inputs, 1, "keys")?;
            let values = arg(inputs, 2, "values")?;
            let t = table(state, r)?;
            check_dtype("keys", keys.dtype, t.key)?;
            check_dtype("values", values.dtype, t.value)?;
            let k = elements(keys)?;
            let v = elements(values)?;
            if k.len() != v.len() {
                return Err(RuntimeError::invalid(format!(
                    "{} keys but {} values",
                    k.len(),
                    v.len()
                )));
            }
            if flex {
                // TensorFlow's HashTable accepts a key again only with the
                // value it already has.
                for (key, value) in k.into_iter().zip(v) {
                    let key = table_key(t.key, key);
                    match t.map.get(&key) {
                        Some(old) if *old != value => {
                            return Err(RuntimeError::invalid(
                                "HashTable has a different value for the same key",
                            ))
                        }
                        Some(_) => {}
                        None => {
                            t.map.insert(key, value);
                        }
                    }
                }
            } else if !t.imported {
                // LiteRT's builtin tables keep the first import only.
                let kd = t.key;
                t.map.extend(k.into_iter().map(|x| table_key(kd, x)).zip(v));
            }
            t.imported = true;
            vec![]
        }
        Control::HashTableFind | Control::FlexFind => {
            let r = table_ref(resource_id(inputs.first().and_then(Option::as_ref))?);
            let keys = arg(inputs, 1, "keys")?;
            let default = arg(inputs, 2, "default value")?;
            let t = table(state, r)?;
            check_dtype("keys", keys.dtype, t.key)?;
            check_dtype("default value", default.dtype, t.value)?;
            let defaults = elements(default)?;
            let keys_el = elements(keys)?;
            // A scalar default serves every key; TensorFlow also takes one
            // default per key.
            if defaults.is_empty() || (defaults.len() != 1 && defaults.len() != keys_el.len()) {
                return Err(RuntimeError::invalid(format!(
                    "{} default values for {} keys",
                    defaults.len(),
                    keys_el.len()
                )));
            }
            let found = keys_el
                .into_iter()
                .enumerate()
                .map(|(i, k)| {
                    let d = &defaults[if defaults.len() == 1 { 0 } else { i }];
                    t.map.get(&table_key(t.key, k)).unwrap_or(d).clone()
                })
                .collect();
            vec![encode(t.value, keys.shape.clone(), found)]
        }
        Control::HashTableSize | Control::FlexSize => {
            let r = table_ref(resource_id(inputs.first().and_then(Option::as_ref))?);
            let size = table(state, r)?.map.len() as i64;
            // Builtin HASHTABLE_SIZE gives shape [1]; TensorFlow's op a scalar.
            let shape = if flex { vec![] } else { vec![1] };
            vec![StoredTensor {
                dtype: TensorType::Int64,
                shape,
                data: size.to_le_bytes().to_vec(),
            }]
        }
        Control::While { .. } | Control::If { .. } | Control::CallOnce { .. } => {
            return Err(RuntimeError::invalid("control flow is not a state op"))
        }
    })
}
