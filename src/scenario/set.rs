//! `--set PATH=VALUE` overrides.
//!
//! Overrides edit the TOML document itself (with `toml_edit`, which keeps the rest of the file
//! as written) before it is deserialised, so an override goes through exactly the same checks
//! as the file: `--set pool.default.workers=0` is refused with the same message as
//! `workers = 0` would be, and a misspelt key is an unknown key.

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::error::{Error, Result};

/// What a path looks like, for error messages.
const EXPECTED_PATH: &str = "expected KEY, host.KEY, pool.NAME.KEY, queue.NAME.KEY, \
     task.NAME.KEY, task.NAME.steps.INDEX.KEY or arrival.INDEX.KEY";

/// Applies every `PATH=VALUE` of `sets`, in order, to the TOML document `doc_text`, and returns
/// the edited document.
///
/// PATH is a top-level key (`seed`, `horizon`, `ties`...), `host.KEY`, `pool.NAME.KEY`, `queue.NAME.KEY`,
/// `task.NAME.KEY` (an entry picked by its `name`; a pool without a name is `default`) or
/// `arrival.INDEX.KEY` (counting from 0), or one key of one step, `task.NAME.steps.INDEX.KEY`
/// (`task.main_task.steps.0.count=8`, steps counted from 0). VALUE is read as a TOML value (`4`, `2.5`, `"x"`,
/// `["a", "b"]`, `{ dist = "exp", mean = "2s" }`), and failing that taken as a string, so that
/// `horizon=2h` works. The key need not exist yet.
///
/// A document that is not valid TOML is returned unchanged, so that validation reports its
/// syntax error with a location.
pub fn apply_sets(doc_text: &str, sets: &[String]) -> Result<String> {
    if sets.is_empty() {
        return Ok(doc_text.to_string());
    }
    let Ok(mut doc) = doc_text.parse::<DocumentMut>() else {
        return Ok(doc_text.to_string());
    };
    for arg in sets {
        apply_one(&mut doc, arg).map_err(|message| Error::Set {
            arg: arg.clone(),
            message,
        })?;
    }
    Ok(doc.to_string())
}

/// Reads VALUE as TOML, or else as a string.
///
/// A value that starts like an array, a table or a quoted string (`[`, `{`, `"`, `'`) and does
/// not parse is an error rather than a string: the user meant TOML, and a message about the
/// string (`expected an array, found "[\"a\","`) would hide the real mistake, which is often a
/// shell that ate the quotes.
fn parse_value(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    match trimmed.parse::<Value>() {
        Ok(mut v) if !trimmed.is_empty() => {
            v.decor_mut().clear();
            Ok(v)
        }
        Err(e) if trimmed.starts_with(['[', '{', '"', '\'']) => {
            let what = match trimmed.as_bytes()[0] {
                b'[' => "an array",
                b'{' => "a table",
                _ => "a string",
            };
            let reason = e.message().trim_end().replace('\n', " ");
            Err(format!(
                "the value starts like {what} but is not valid TOML ({reason}); quote the whole \
                 argument for the shell, as in --set 'arrival.0.at=[\"0s\", \"1s\"]'"
            ))
        }
        _ => Ok(Value::from(text)),
    }
}

fn apply_one(doc: &mut DocumentMut, arg: &str) -> Result<(), String> {
    let Some((path, value)) = arg.split_once('=') else {
        return Err("expected PATH=VALUE".into());
    };
    let path = path.trim();
    let value = parse_value(value)?;
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("expected PATH=VALUE, {EXPECTED_PATH}"));
    }
    let root = doc.as_table_mut();
    match parts.as_slice() {
        [key] => {
            set_key(root, key, value);
            Ok(())
        }
        ["host", key] => {
            // `[host]` is a plain table, made when the file has none.
            let host = root
                .entry("host")
                .or_insert_with(|| Item::Table(Table::new()));
            match host {
                Item::Table(table) => set_key(table, key, value),
                Item::Value(Value::InlineTable(table)) => set_inline_key(table, key, value),
                _ => return Err("`host` is not a table".into()),
            }
            Ok(())
        }
        [section, selector, key] => {
            match entry(root, section, selector)? {
                EntryMut::Table(table) => set_key(table, key, value),
                EntryMut::Inline(table) => set_inline_key(table, key, value),
            }
            Ok(())
        }
        ["task", selector, "steps", index, key] => {
            let steps = match entry(root, "task", selector)? {
                EntryMut::Table(table) => table.get_mut("steps").and_then(Item::as_array_mut),
                EntryMut::Inline(table) => table.get_mut("steps").and_then(Value::as_array_mut),
            }
            .ok_or_else(|| format!("task \"{selector}\" has no steps array to edit"))?;
            let n = steps.len();
            let step = index
                .parse::<usize>()
                .ok()
                .and_then(|i| steps.get_mut(i))
                .ok_or_else(|| {
                    format!(
                        "task \"{selector}\" has {n} steps (0 to {}), found step \"{index}\"",
                        n.saturating_sub(1)
                    )
                })?
                .as_inline_table_mut()
                .ok_or_else(|| format!("step {index} of task \"{selector}\" is not a table"))?;
            set_inline_key(step, key, value);
            Ok(())
        }
        [section, ..] if is_section(section) => Err(format!(
            "expected {section}.{}.KEY, found \"{path}\"",
            if *section == "arrival" {
                "INDEX"
            } else {
                "NAME"
            }
        )),
        _ => Err(format!("{EXPECTED_PATH}, found \"{path}\"")),
    }
}

fn is_section(name: &str) -> bool {
    matches!(name, "pool" | "queue" | "task" | "arrival")
}

fn set_key(table: &mut Table, key: &str, value: Value) {
    // Replace the value but keep the key's position and the comment after it.
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
}

fn set_inline_key(table: &mut toml_edit::InlineTable, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        None => {
            value.decor_mut().set_prefix(" ");
            table.insert(key, value);
        }
    }
}

/// The tables of the `[[section]]` array (or of an inline `section = [{...}]` array).
fn entries<'a>(root: &'a mut Table, section: &str) -> Vec<EntryMut<'a>> {
    match root.get_mut(section) {
        Some(Item::ArrayOfTables(array)) => array.iter_mut().map(EntryMut::Table).collect(),
        Some(Item::Value(Value::Array(array))) => array
            .iter_mut()
            .filter_map(|v| v.as_inline_table_mut())
            .map(EntryMut::Inline)
            .collect(),
        _ => Vec::new(),
    }
}

enum EntryMut<'a> {
    Table(&'a mut Table),
    Inline(&'a mut toml_edit::InlineTable),
}

impl EntryMut<'_> {
    fn name(&self) -> Option<&str> {
        match self {
            EntryMut::Table(t) => t.get("name").and_then(|n| n.as_str()),
            EntryMut::Inline(t) => t.get("name").and_then(|n| n.as_str()),
        }
    }
}

/// The entry of `section` picked by `selector`.
fn entry<'a>(root: &'a mut Table, section: &str, selector: &str) -> Result<EntryMut<'a>, String> {
    if !is_section(section) {
        return Err(format!(
            "unknown section \"{section}\" (expected pool, queue, task or arrival)"
        ));
    }
    // A pool without a name is the pool named "default".
    let default_name = if section == "pool" {
        Some("default")
    } else {
        None
    };
    let mut list = entries(root, section);
    let index = if section == "arrival" {
        let index: usize = selector
            .parse()
            .map_err(|_| format!("expected an arrival index such as 0, found \"{selector}\""))?;
        if index >= list.len() {
            let n = list.len();
            return Err(format!(
                "arrival index {index} out of range ({n} arrival{})",
                if n == 1 { "" } else { "s" }
            ));
        }
        index
    } else {
        let names: Vec<String> = list
            .iter()
            .map(|e| e.name().or(default_name).unwrap_or("?").to_string())
            .collect();
        names.iter().position(|n| n == selector).ok_or_else(|| {
            let known = if names.is_empty() {
                "none declared".to_string()
            } else {
                format!("known: {}", names.join(", "))
            };
            format!("no {section} named \"{selector}\" ({known})")
        })?
    };
    Ok(list.swap_remove(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"seed = 1 # the seed

[[pool]]
workers = 2

[[pool]]
name = "slow"
workers = 1
queues = ["slow"]

[[task]]
name = "main"
steps = [{ work = "1s" }]

[[arrival]]
task = "main"
at = ["0s"]

[[arrival]]
task = "main"
every = "1s"
count = 3
"#;

    fn set(args: &[&str]) -> Result<String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        apply_sets(DOC, &args)
    }

    fn set_err(arg: &str) -> String {
        match set(&[arg]) {
            Err(Error::Set { arg: a, message }) => {
                assert_eq!(a, arg);
                message
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sets_top_level_keys() {
        let out = set(&["seed=7", "horizon=2h", "ties=random"]).unwrap();
        assert!(out.starts_with("seed = 7 # the seed\n"), "{out}");
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["horizon"].as_str(), Some("2h"));
        assert_eq!(v["ties"].as_str(), Some("random"));
    }

    #[test]
    fn sets_named_and_indexed_entries() {
        let out = set(&[
            "pool.default.workers=5",
            "pool.slow.queues=[\"default\", \"slow\"]",
            "task.main.priority=3",
            "arrival.1.every={ dist = \"exp\", mean = \"2s\" }",
            "arrival.0.at=[\"1s\", \"2s\"]",
        ])
        .unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["pool"][0]["workers"].as_integer(), Some(5));
        assert_eq!(v["pool"][1]["queues"][0].as_str(), Some("default"));
        assert_eq!(v["task"][0]["priority"].as_integer(), Some(3));
        assert_eq!(v["arrival"][1]["every"]["dist"].as_str(), Some("exp"));
        assert_eq!(v["arrival"][0]["at"][1].as_str(), Some("2s"));
    }

    #[test]
    fn sets_one_key_of_one_step() {
        let out = set(&["task.main.steps.0.work=\"3s\"", "task.main.steps.0.note=1"]).unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["task"][0]["steps"][0]["work"].as_str(), Some("3s"));
        assert_eq!(v["task"][0]["steps"][0]["note"].as_integer(), Some(1));
        assert_eq!(
            set_err("task.main.steps.1.work=1"),
            "task \"main\" has 1 steps (0 to 0), found step \"1\""
        );
        assert_eq!(
            set_err("task.nope.steps.0.work=1"),
            set_err("task.nope.priority=1")
        );
    }

    #[test]
    fn adds_missing_keys() {
        let out = set(&["pool.slow.name=\"fast\"", "task.main.queue=slow"]).unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["pool"][1]["name"].as_str(), Some("fast"));
        assert_eq!(v["task"][0]["queue"].as_str(), Some("slow"));
    }

    #[test]
    fn explains_bad_paths() {
        assert_eq!(set_err("seed"), "expected PATH=VALUE");
        assert_eq!(
            set_err("pool.defualt.workers=3"),
            "no pool named \"defualt\" (known: default, slow)"
        );
        assert_eq!(
            set_err("queue.fast.discipline=lifo"),
            "no queue named \"fast\" (none declared)"
        );
        assert_eq!(
            set_err("arrival.3.count=1"),
            "arrival index 3 out of range (2 arrivals)"
        );
        assert_eq!(
            set_err("arrival.x.count=1"),
            "expected an arrival index such as 0, found \"x\""
        );
        assert_eq!(
            set_err("pool.default=1"),
            "expected pool.NAME.KEY, found \"pool.default\""
        );
        assert!(set_err("bogus.a.b=1").starts_with("unknown section \"bogus\""));
        assert!(set_err("a..b=1").starts_with("expected PATH=VALUE"));
    }

    #[test]
    fn edits_inline_arrays_of_tables() {
        let doc = "pool = [{ name = \"a\", workers = 1 }]\n";
        let out = apply_sets(doc, &["pool.a.workers=4".to_string()]).unwrap();
        assert_eq!(out, "pool = [{ name = \"a\", workers = 4 }]\n");
        let out = apply_sets(doc, &["pool.a.queues=[\"x\"]".to_string()]).unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["pool"][0]["queues"][0].as_str(), Some("x"));
    }

    #[test]
    fn refuses_values_that_look_like_broken_toml() {
        let message = set_err("pool.slow.queues=[\"default\",");
        assert!(
            message.starts_with("the value starts like an array but is not valid TOML ("),
            "{message}"
        );
        assert!(message.contains("quote the whole argument"), "{message}");
        assert!(
            set_err("arrival.1.every={ dist = exp }").starts_with("the value starts like a table")
        );
        assert!(set_err("task.main.queue=\"slow").starts_with("the value starts like a string"));
        // Bare words are still strings.
        let out = set(&["horizon=2h", "ties=random"]).unwrap();
        assert!(out.contains("horizon = \"2h\""), "{out}");
    }

    #[test]
    fn integers_beyond_toml_become_strings() {
        // TOML integers stop at 2^63 - 1; the seed's reader accepts the digits as a string.
        let out = set(&["seed=9848753966768412663"]).unwrap();
        assert!(out.starts_with("seed = \"9848753966768412663\""), "{out}");
    }

    #[test]
    fn leaves_broken_documents_to_validation() {
        let args = vec!["seed=1".to_string()];
        assert_eq!(apply_sets("[[pool", &args).unwrap(), "[[pool");
    }
}
