//! The crate's floors, read from its own `crate::` and `super::` paths: a
//! module may use what its own floor or a lower one defines, never what a
//! higher one does, and no files use each other round. A module stands on
//! the floor of the longest path below that names it (`articles::public`
//! on the pages, `articles` on the records), so a new module has to be
//! given a floor here before it can land.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom first, each with what it is for.
const FLOORS: &[(&str, &[&str])] = &[
    (
        "foundation: configuration, the error type, keyed hashes and entity ids; knows nothing",
        &["config", "error", "secret", "ids"],
    ),
    (
        "the database: pools, migrations, the private cluster",
        &["db"],
    ),
    (
        "web plumbing: rendering, cookies, CSRF, the client, the page cache; knows no slice",
        &["web"],
    ),
    ("the state handed to every handler", &["state"]),
    (
        "the vocabulary: roles, the review state machine, tree shapes; pure",
        &["roles", "workflow", "tree"],
    ),
    (
        "what every slice writes or asks: the audit log, site settings, captchas",
        &["audit", "settings", "captcha"],
    ),
    (
        "who is asking: staff sessions, permissions, passwords, throttling",
        &["auth"],
    ),
    (
        "the slices' records and rules: what is stored and how it is read and changed",
        &[
            "units",
            "channels",
            "users",
            "articles",
            "comments",
            "readers",
            "search",
            "media",
            "notifications",
            "webhooks",
            "desk",
            "stats::days",
            "stats::period",
            "stats::queries",
            "stats::export",
            "stats::charts",
        ],
    ),
    (
        "the instance's copy of the site's structure, read from the records",
        &["site"],
    ),
    ("the shell of every page", &["layout"]),
    (
        "what the backend's pages share: the request's staff and connection, versioned edits, tree row changes",
        &["backend"],
    ),
    (
        "pages: the handlers that answer requests",
        &[
            "audit::admin",
            "settings::admin",
            "settings::security",
            "auth::login",
            "units::admin",
            "channels::admin",
            "users::admin",
            "users::locks",
            "users::account",
            "articles::admin",
            "articles::all",
            "articles::diff",
            "articles::feeds",
            "articles::home",
            "articles::public",
            "articles::queue",
            "articles::review",
            "articles::show",
            "comments::admin",
            "comments::post",
            "search::page",
            "media::admin",
            "notifications::page",
            "stats",
            "topics",
            "readers::page",
            "api",
            "webhooks::admin",
            "desk::proof_admin",
            "desk::grades_admin",
        ],
    ),
    ("the one route table and the server", &["app"]),
    (
        "commands beside the site: the demo seed, the benchmark generator, the importers",
        &["seed", "generate", "import"],
    ),
];

/// The floor of `module`: that of the longest entry naming it or a module
/// above it in the tree.
fn floor_of(module: &str) -> Option<usize> {
    FLOORS
        .iter()
        .enumerate()
        .flat_map(|(floor, (_, paths))| paths.iter().map(move |path| (floor, *path)))
        .filter(|(_, path)| module == *path || module.starts_with(&format!("{path}::")))
        .max_by_key(|(_, path)| path.len())
        .map(|(floor, _)| floor)
}

/// Every module of the library with the text of its file.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    let mut folders = vec![src.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                if parts == ["main"] {
                    // The binary uses the library by its name, as any crate would.
                    continue;
                }
                parts.pop();
            }
            found.insert(parts.join("::"), std::fs::read_to_string(&path).unwrap());
        }
    }
    found
}

/// The code of a file without its comments and its test module.
fn code(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths `text` names from `crate::` or `super::`, whole: a brace group
/// (`crate::{a, b::{c, d}}`) gives one path per leaf. `parent` is the module
/// that `super` means.
fn paths(text: &str, parent: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < text.len() {
        let rest = &text[at..];
        let (root, length) = if rest.starts_with("crate::") {
            (String::new(), "crate::".len())
        } else if rest.starts_with("super::") {
            (parent.to_owned(), "super::".len())
        } else {
            at += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let preceded = at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        at += length;
        if preceded {
            continue;
        }
        at = tree(text, at, root, &mut found);
    }
    found
}

/// Reads one use-tree of `text` from `at` under `prefix`; returns where it
/// ends.
fn tree(text: &str, mut at: usize, prefix: String, found: &mut Vec<String>) -> usize {
    let mut path = prefix;
    loop {
        let rest = &text[at..];
        if rest.starts_with('{') {
            at += 1;
            loop {
                at += text[at..].len() - text[at..].trim_start().len();
                if text[at..].starts_with('}') {
                    return at + 1;
                }
                at = tree(text, at, path.clone(), found);
                at += text[at..].len() - text[at..].trim_start().len();
                if text[at..].starts_with(',') {
                    at += 1;
                }
            }
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        at += name.len();
        if !name.is_empty() && name != "self" && name != "super" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(&name);
        } else if name == "super" {
            path = path
                .rsplit_once("::")
                .map_or(String::new(), |(up, _)| up.to_owned());
        }
        if text[at..].starts_with("::") {
            at += 2;
        } else {
            if !path.is_empty() {
                found.push(path);
            }
            return at;
        }
    }
}

/// The module a path lies in: its longest prefix that is a module.
fn module_of<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let mut candidate = path;
    loop {
        if let Some((module, _)) = modules.get_key_value(candidate) {
            return Some(module.as_str());
        }
        candidate = candidate.rsplit_once("::")?.0;
    }
}

/// Which modules each module uses (itself and the crate root left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let mut graph = BTreeMap::new();
    for (module, text) in &modules {
        let parent = module.rsplit_once("::").map_or("", |(up, _)| up);
        let used: BTreeSet<String> = paths(&code(text), parent)
            .iter()
            .filter_map(|path| module_of(path, &modules))
            .filter(|used| !used.is_empty() && used != module)
            .map(str::to_owned)
            .collect();
        graph.insert(module.clone(), used);
    }
    graph
}

#[test]
fn use_trees_are_read_whole() {
    let text = "use crate::{a::b, c::{d, e::{f, self}}};\nuse super::g::H;\nlet x = crate::i::j(super::super::k);";
    assert_eq!(
        paths(text, "p::q"),
        [
            "a::b",
            "c::d",
            "c::e::f",
            "c::e",
            "p::q::g::H",
            "i::j",
            "p::k"
        ]
    );
}

#[test]
fn every_module_uses_only_its_own_floor_and_those_below() {
    let graph = imports();
    // The reading finds the route table's many imports, or it reads nothing.
    assert!(graph["app"].len() > 15, "{:?}", graph["app"]);
    let mut wrong = Vec::new();
    for (module, used) in &graph {
        if module.is_empty() {
            continue;
        }
        let Some(floor) = floor_of(module) else {
            wrong.push(format!(
                "{module} stands on no floor: give it one in FLOORS"
            ));
            continue;
        };
        for other in used {
            let other_floor = floor_of(other).unwrap_or(usize::MAX);
            if other_floor > floor {
                wrong.push(format!(
                    "{module} ({}) uses {other} ({}), a floor above it",
                    FLOORS[floor].0,
                    FLOORS.get(other_floor).map_or("no floor", |f| f.0),
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn no_modules_use_each_other_round() {
    let graph = imports();
    // Depth first; a module met again while still on the path closes a circle.
    fn visit<'a>(
        module: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on| *on == module) {
            let mut circle: Vec<String> = path[start..].iter().map(|m| m.to_string()).collect();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for used in graph.get(module).into_iter().flatten() {
            if let Some(circle) = visit(used, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(circle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("modules use each other round: {}", circle.join(" -> "));
        }
    }
}
