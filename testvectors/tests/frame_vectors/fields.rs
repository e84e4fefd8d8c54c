//! Reading fields, with failures that name the vector.

use super::*;

/// One vector (or one entry of a list inside it) and the name failures call it by.
pub(crate) struct Fields<'a> {
    pub(crate) name: String,
    pub(crate) value: &'a Value,
}

impl<'a> Fields<'a> {
    pub(crate) fn of_vector(index: usize, value: &'a Value) -> Self {
        let kind = value["kind"].as_str().unwrap_or("?");
        let description = value["description"].as_str().unwrap_or("?");
        Self {
            name: format!("vector {index} ({kind}: {description:?})"),
            value,
        }
    }

    pub(crate) fn field(&self, field: &str) -> &'a Value {
        self.value
            .get(field)
            .unwrap_or_else(|| panic!("{}: field `{field}` is missing", self.name))
    }

    pub(crate) fn text(&self, field: &str) -> &'a str {
        self.field(field)
            .as_str()
            .unwrap_or_else(|| panic!("{}: field `{field}` is not text", self.name))
    }

    pub(crate) fn bytes(&self, field: &str) -> Vec<u8> {
        hex::decode(self.text(field))
            .unwrap_or_else(|err| panic!("{}: field `{field}` is not hex ({err})", self.name))
    }

    pub(crate) fn array<const N: usize>(&self, field: &str) -> [u8; N] {
        self.bytes(field)
            .try_into()
            .unwrap_or_else(|bytes: Vec<u8>| {
                panic!(
                    "{}: field `{field}` holds {} bytes, not {N}",
                    self.name,
                    bytes.len()
                )
            })
    }

    pub(crate) fn integer<T: TryFrom<u64>>(&self, field: &str) -> T {
        self.field(field)
            .as_u64()
            .and_then(|n| T::try_from(n).ok())
            .unwrap_or_else(|| panic!("{}: field `{field}` is not an integer in range", self.name))
    }

    pub(crate) fn address(&self, field: &str) -> Address {
        Address::from_value(self.field(field)).unwrap_or_else(|err| {
            panic!("{}: field `{field}` is not an address ({err})", self.name)
        })
    }

    pub(crate) fn identity(&self, field: &str) -> Identity {
        Identity::from_secret_bytes(&self.array(field))
    }

    pub(crate) fn list(&self, field: &str) -> Vec<Self> {
        self.field(field)
            .as_array()
            .unwrap_or_else(|| panic!("{}: field `{field}` is not a list", self.name))
            .iter()
            .enumerate()
            .map(|(index, value)| Fields {
                name: format!("{}, {field}[{index}]", self.name),
                value,
            })
            .collect()
    }
}

/// The first place where `stored` and `computed` differ, as a path and both values.
pub(crate) fn first_difference(path: &str, stored: &Value, computed: &Value) -> Option<String> {
    let join = |key: &dyn std::fmt::Display| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (stored, computed) {
        (Value::Object(stored), Value::Object(computed)) => {
            let keys: BTreeSet<&String> = stored.keys().chain(computed.keys()).collect();
            keys.into_iter()
                .find_map(|key| match (stored.get(key), computed.get(key)) {
                    (Some(stored), Some(computed)) => {
                        first_difference(&join(key), stored, computed)
                    }
                    (Some(_), None) => Some(format!(
                        "field `{}` is stored but the code computes no such field",
                        join(key)
                    )),
                    (None, _) => Some(format!(
                        "field `{}` is computed but missing from the file",
                        join(key)
                    )),
                })
        }
        (Value::Array(stored), Value::Array(computed)) if stored.len() == computed.len() => stored
            .iter()
            .zip(computed)
            .enumerate()
            .find_map(|(index, (stored, computed))| {
                first_difference(&join(&index), stored, computed)
            }),
        _ if stored == computed => None,
        (Value::String(stored), Value::String(computed)) => {
            let at = stored
                .chars()
                .zip(computed.chars())
                .take_while(|(stored, computed)| stored == computed)
                .count();
            Some(format!(
                "field `{path}` differs from character {at} on\n  stored:   {stored:?}\n  \
                 computed: {computed:?}"
            ))
        }
        _ => Some(format!(
            "field `{path}` differs\n  stored:   {stored}\n  computed: {computed}"
        )),
    }
}

pub(crate) fn assert_same(name: &str, stored: &Value, computed: &Value) {
    if let Some(difference) = first_difference("", stored, computed) {
        panic!(
            "{name}: {difference}\nthe code no longer reproduces the stored vector; if the wire \
             format changed on purpose, re-record with {UPDATE_VARIABLE}=1 and review the diff"
        );
    }
}

/// Forward direction: the vector rebuilt from its stored inputs is the stored vector exactly.
pub(crate) fn assert_rebuilds(vector: &Fields<'_>) {
    assert_same(&vector.name, vector.value, &build(vector));
}
