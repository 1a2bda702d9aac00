//! Stripe's parameters as its clients send them: `application/x-www-form-urlencoded` bodies and
//! query strings whose keys nest with brackets — `metadata[order]=6735`, `card[number]=…`,
//! `expand[]=latest_charge` or `expand[0]=latest_charge`, brackets percent-encoded or not — read
//! into a tree whose leaves are strings. Errors name the parameter as Stripe writes it
//! (`card[exp_month]`), and never repeat a value (it may be a card number).

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// A parsed body or query: nested maps and lists of strings.
#[derive(Debug, Clone, Default)]
pub struct Params {
    tree: Map<String, Value>,
    /// Where this tree sits in the request, for error messages (`card` for `card[...]`).
    path: String,
}

/// A bad parameter: Stripe's `invalid_request_error` with `code` and `param`.
pub fn invalid(param: &str, code: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(param, message).with_details(serde_json::json!({ "field": param, "stripeCode": code }))
}

/// Stripe's `resource_missing`: `No such <object>: '<id>'`, naming the parameter that named it.
pub fn no_such(object: &str, id: &str, param: &str) -> ApiError {
    ApiError::new(kassa::ErrorCode::NotFound, format!("No such {object}: '{id}'")).with_details(serde_json::json!({ "field": param }))
}

pub fn missing(param: &str) -> ApiError {
    invalid(param, "parameter_missing", format!("Missing required param: {param}."))
}

/// The deepest a key may nest (`a[b][c][d]`); Stripe's own objects need three.
const MAX_DEPTH: usize = 5;

impl Params {
    pub fn parse(bytes: &[u8]) -> ApiResult<Params> {
        let mut tree = Value::Object(Map::new());
        for (key, value) in form_urlencoded::parse(bytes) {
            let name = shown(&key);
            let path =
                split_key(&key).ok_or_else(|| invalid(&name, "parameter_invalid_string", format!("Invalid parameter name: {name}")))?;
            insert(&mut tree, &path, value.into_owned())
                .map_err(|()| invalid(&name, "parameter_invalid_string", format!("The parameter {name} is given twice, or in two ways")))?;
        }
        let Value::Object(tree) = tree else { unreachable!("the root is an object") };
        Ok(Params { tree, path: String::new() })
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.path)
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.tree.contains_key(key)
    }

    /// Whether `key` is given a value (`key=` is not).
    pub fn given(&self, key: &str) -> bool {
        self.tree.get(key).is_some_and(|v| v.as_str() != Some(""))
    }

    /// Refuses the parameters in `names` unless `confirm=true`: only confirming reads them, and
    /// what is not read would be dropped.
    pub fn only_confirming(&self, names: &[&str]) -> ApiResult<()> {
        if self.boolean("confirm")? == Some(true) {
            return Ok(());
        }
        match names.iter().find(|name| self.given(name)) {
            Some(name) => Err(invalid(
                &self.name(name),
                "parameter_unknown",
                format!("{name} is taken only with confirm=true: Kassa keeps it only when it confirms"),
            )),
            None => Ok(()),
        }
    }

    /// Refuses any parameter not in `known`, as Stripe does.
    pub fn only(&self, known: &[&str]) -> ApiResult<()> {
        match self.tree.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => {
                let name = shown(&self.name(unknown));
                Err(invalid(&name, "parameter_unknown", format!("Received unknown parameter: {name}")))
            }
            None => Ok(()),
        }
    }

    /// A string; an empty one (`description=`) reads as none, which is how Stripe's clients unset a field.
    pub fn text(&self, key: &str) -> ApiResult<Option<String>> {
        match self.tree.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => {
                let name = self.name(key);
                Err(invalid(&name, "parameter_invalid_string", format!("Invalid string: {name} must be a string")))
            }
        }
    }

    pub fn required_text(&self, key: &str) -> ApiResult<String> {
        self.text(key)?.ok_or_else(|| missing(&self.name(key)))
    }

    pub fn integer(&self, key: &str) -> ApiResult<Option<i64>> {
        let Some(text) = self.text(key)? else { return Ok(None) };
        text.parse::<i64>().map(Some).map_err(|_| {
            let name = self.name(key);
            invalid(&name, "parameter_invalid_integer", format!("Invalid integer: {name} must be a whole number"))
        })
    }

    pub fn required_integer(&self, key: &str) -> ApiResult<i64> {
        self.integer(key)?.ok_or_else(|| missing(&self.name(key)))
    }

    pub fn boolean(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.text(key)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => {
                let name = self.name(key);
                Err(invalid(&name, "parameter_invalid_boolean", format!("Invalid boolean: {name} must be true or false")))
            }
        }
    }

    /// One of `choices`.
    pub fn choice(&self, key: &str, choices: &[&str]) -> ApiResult<Option<String>> {
        match self.text(key)? {
            Some(v) if !choices.contains(&v.as_str()) => {
                let name = self.name(key);
                Err(invalid(&name, "parameter_invalid_string", format!("Invalid {name}: must be one of {}", choices.join(", "))))
            }
            other => Ok(other),
        }
    }

    /// A nested set of parameters (`card[...]`).
    pub fn nested(&self, key: &str) -> ApiResult<Option<Params>> {
        match self.tree.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::Object(tree)) => Ok(Some(Params { tree: tree.clone(), path: self.name(key) })),
            Some(_) => {
                let name = self.name(key);
                Err(invalid(&name, "parameter_invalid_object", format!("Invalid object: {name} must be a hash (`{name}[key]=value`)")))
            }
        }
    }

    /// A list of strings (`expand[]=a&expand[]=b`, or `expand[0]=a&expand[1]=b`: a hash whose
    /// keys are indexes, in their order).
    pub fn strings(&self, key: &str) -> ApiResult<Vec<String>> {
        let holds_strings = || {
            let name = self.name(key);
            invalid(&name, "parameter_invalid_string", format!("Invalid array: {name} holds strings"))
        };
        let string = |item: &Value| item.as_str().map(str::to_owned).ok_or_else(holds_strings);
        match self.tree.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(string).collect(),
            Some(Value::Object(indexed)) if indexed.keys().all(|k| k.parse::<usize>().is_ok()) => {
                let mut items: Vec<(usize, &Value)> = indexed.iter().map(|(k, v)| (k.parse().expect("an index"), v)).collect();
                items.sort_by_key(|(index, _)| *index);
                items.into_iter().map(|(_, item)| string(item)).collect()
            }
            Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
            Some(_) => {
                let name = self.name(key);
                Err(invalid(&name, "parameter_invalid_array", format!("Invalid array: {name} must be a list (`{name}[]=value`)")))
            }
        }
    }

    /// `metadata[...]`: at most 50 keys of 40 characters, values of 500, as Stripe allows. An
    /// empty value removes that key on update; `metadata=` (empty) clears it.
    pub fn metadata(&self) -> ApiResult<Option<Map<String, Value>>> {
        let tree = match self.tree.get("metadata") {
            None => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(Some(Map::new())),
            Some(Value::Object(tree)) => tree.clone(),
            Some(_) => return Err(invalid("metadata", "parameter_invalid_object", "Invalid object: metadata must be a hash")),
        };
        if tree.len() > 50 {
            return Err(invalid("metadata", "parameter_invalid_object", "metadata holds at most 50 keys"));
        }
        for (key, value) in &tree {
            let name = format!("metadata[{key}]");
            match value {
                Value::String(v) if key.chars().count() <= 40 && v.chars().count() <= 500 => {}
                Value::String(_) => {
                    return Err(invalid(&name, "parameter_invalid_string", "metadata keys are at most 40 characters, values at most 500"))
                }
                _ => return Err(invalid(&name, "parameter_invalid_string", format!("Invalid string: {name} must be a string"))),
            }
        }
        Ok(Some(tree))
    }
}

/// A list's page size: 1 to 100, ten unless said.
pub fn limit(p: &Params) -> ApiResult<u32> {
    let limit = p.integer("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(invalid("limit", "parameter_invalid_integer", "limit must be between 1 and 100"));
    }
    Ok(limit as u32)
}

/// `created[gte]=…` and its kin, or `created=<seconds>`: a range of Unix seconds, as milliseconds
/// `[from, to)`.
pub fn created_range(p: &Params) -> ApiResult<(Option<i64>, Option<i64>)> {
    let ms = |s: i64| s.saturating_mul(1000);
    // Saturating: a bound past the end of time is the end of time, not an overflow.
    let next = |s: i64| ms(s.saturating_add(1));
    if let Some(at) = p.integer("created").ok().flatten() {
        return Ok((Some(ms(at)), Some(next(at))));
    }
    let Some(range) = p.nested("created")? else { return Ok((None, None)) };
    range.only(&["gt", "gte", "lt", "lte"])?;
    let from = match (range.integer("gt")?, range.integer("gte")?) {
        (Some(gt), _) => Some(next(gt)),
        (None, gte) => gte.map(ms),
    };
    let to = match (range.integer("lt")?, range.integer("lte")?) {
        (Some(lt), _) => Some(ms(lt)),
        (None, lte) => lte.map(next),
    };
    Ok((from, to))
}

/// Metadata as Stripe updates it: the keys sent are set, a key sent empty is removed, and an empty
/// `metadata=` clears it all.
pub fn merge_metadata(mut now: Map<String, Value>, changes: Map<String, Value>) -> Map<String, Value> {
    if changes.is_empty() {
        now.clear();
    }
    for (key, value) in changes {
        if value.as_str() == Some("") {
            now.remove(&key);
        } else {
            now.insert(key, value);
        }
    }
    now
}

/// A parameter's name as an error may repeat it: a name that is not one of letters, digits and
/// brackets (a JSON body sent as a form, say, whose one "name" holds everything it was sent) is
/// not repeated.
fn shown(name: &str) -> String {
    if name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "_[].-".contains(c)) {
        name.to_owned()
    } else {
        "(a parameter this API does not take)".to_owned()
    }
}

/// `a[b][]` → `["a", "b", ""]`; none for a key that does not nest well.
fn split_key(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        Some(at) => (&key[..at], &key[at..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut path = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let segment = &inner[..end];
        if segment.contains('[') {
            return None;
        }
        path.push(segment);
        rest = &inner[end + 1..];
    }
    (path.len() <= MAX_DEPTH).then_some(path)
}

/// `[]` appends to a list; any other segment, an index (`[0]`) too, is a key of a hash, as Rack
/// reads them: [`Params::strings`] reads a hash whose keys are all indexes as the list they number.
/// (Reading `[0]` as a list item made `metadata[5]=x` the key `0`, and a top-level `0=x` a list
/// where the parameters' hash should be.) A key given twice, or as a value and as a hash, is an
/// error.
fn insert(node: &mut Value, path: &[&str], value: String) -> Result<(), ()> {
    let (segment, rest) = path.split_first().expect("a path has a segment");
    if segment.is_empty() {
        if node.as_object().is_some_and(Map::is_empty) {
            *node = Value::Array(Vec::new());
        }
        let items = node.as_array_mut().ok_or(())?;
        if rest.is_empty() {
            items.push(Value::String(value));
            return Ok(());
        }
        items.push(Value::Object(Map::new()));
        return insert(items.last_mut().expect("just pushed"), rest, value);
    }
    let map = node.as_object_mut().ok_or(())?;
    if rest.is_empty() {
        if map.contains_key(*segment) {
            return Err(());
        }
        map.insert((*segment).to_owned(), Value::String(value));
        return Ok(());
    }
    let child = map.entry((*segment).to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if child.is_string() {
        return Err(());
    }
    insert(child, rest, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_nest_whether_encoded_or_not() {
        let p = Params::parse(b"amount=2000&metadata[order]=6735&metadata%5Bnote%5D=a+b&card[exp_month]=12").unwrap();
        assert_eq!(p.integer("amount").unwrap(), Some(2000));
        let metadata = p.metadata().unwrap().unwrap();
        assert_eq!(metadata["order"], "6735");
        assert_eq!(metadata["note"], "a b");
        assert_eq!(p.nested("card").unwrap().unwrap().integer("exp_month").unwrap(), Some(12));
    }

    #[test]
    fn lists_are_indexed_or_bare() {
        let p = Params::parse(b"expand[0]=customer&expand[1]=latest_charge").unwrap();
        assert_eq!(p.strings("expand").unwrap(), ["customer", "latest_charge"]);
        let p = Params::parse(b"expand%5B%5D=customer&expand[]=payment_method").unwrap();
        assert_eq!(p.strings("expand").unwrap(), ["customer", "payment_method"]);
    }

    #[test]
    fn an_index_is_a_key_until_a_list_is_read() {
        let p = Params::parse(b"metadata[5]=x&metadata[0]=y&0=z&expand[1]=b&expand[0]=a").unwrap();
        let metadata = p.metadata().unwrap().unwrap();
        assert_eq!((metadata["5"].as_str(), metadata["0"].as_str()), (Some("x"), Some("y")));
        assert_eq!(p.text("0").unwrap().as_deref(), Some("z"));
        assert_eq!(p.strings("expand").unwrap(), ["a", "b"]);
        assert!(Params::parse(b"expand[order]=x").unwrap().strings("expand").is_err(), "a hash of names is no list");
        assert!(Params::parse(b"limit=1&limit=2").is_err(), "a parameter given twice");
        assert!(Params::parse(b"expand[]=a&expand[b]=c").is_err());
    }

    #[test]
    fn errors_name_the_parameter_and_not_its_value() {
        let p = Params::parse(b"amount=12x&card[number]=4242-4242-4242-4242").unwrap();
        let e = p.integer("amount").unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "amount");
        let e = p.nested("card").unwrap().unwrap().integer("number").unwrap_err();
        assert!(!e.message.contains("4242"), "{}", e.message);
        assert_eq!(e.details.unwrap()["field"], "card[number]");
        assert!(Params::parse(b"a=1&a[b]=2").is_err());
        assert!(Params::parse(b"a[b=1").is_err());
        let far = Params::parse(b"created[gt]=9223372036854775807&created[lte]=9223372036854775807").unwrap();
        assert_eq!(created_range(&far).unwrap(), (Some(i64::MAX), Some(i64::MAX)));
        let e = Params::parse(b"amount=1&colour=red").unwrap().only(&["amount"]).unwrap_err();
        assert_eq!(e.details.unwrap()["stripeCode"], "parameter_unknown");
    }
}
