//! The layering rule of ARCHITECTURE.md, checked over the source tree:
//!
//! - no module under `server/src` outside `http/` names `axum`, `crate::http`
//!   or the app state (the domain never speaks HTTP);
//! - no two modules import each other, and the module graph has no cycle.
//!
//! A module is a file (`foo.rs`, or `foo/mod.rs` for `foo`); an import is any
//! `crate::a::b` path (also inside `use crate::{a, b::c}` groups) or
//! `super::x` that reaches another module.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The crate root and the binary wire the layers together; they may name both.
const ROOTS: [&str; 2] = ["lib", "main"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("readable source dir") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `analytics/mod.rs` → `analytics`, `http/v1.rs` → `http::v1`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The source without comments and string literals, test modules cut off.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push_str("\"\"");
            }
            c => out.push(c),
        }
    }
    out
}

/// Every `crate::…` path in `code`, with `use crate::{a, b::{c}}` groups
/// expanded to their first segments.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = vec![];
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if after.starts_with('{') {
            // A group: take the top-level names.
            let mut depth = 0;
            let mut name = String::new();
            for c in after.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        if depth == 1 {
                            continue;
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                if depth == 1 && c == ',' {
                    out.push(std::mem::take(&mut name).trim().to_string());
                } else if depth >= 1 {
                    name.push(c);
                }
            }
            if !name.trim().is_empty() {
                out.push(name.trim().to_string());
            }
        } else {
            let path: String =
                after.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            out.push(path);
        }
        rest = after;
    }
    out
}

/// The module a path names, as the longest known module prefix.
fn target(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let path = path.split_whitespace().next().unwrap_or_default(); // `a::b as c`
    let segs: Vec<&str> = path.split("::").map(str::trim).filter(|s| !s.is_empty()).collect();
    (1..=segs.len()).rev().map(|n| segs[..n].join("::")).find(|m| modules.contains(m))
}

struct Tree {
    /// Module → the code of its file.
    code: BTreeMap<String, String>,
    modules: BTreeSet<String>,
}

/// The modules of a crate of the workspace (`server`, `kvo-api`, …).
fn tree(krate: &str) -> Tree {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    let mut code = BTreeMap::new();
    for f in files {
        code.insert(module_of(&src, &f), code_of(&fs::read_to_string(&f).expect("readable source")));
    }
    let modules = code.keys().cloned().collect();
    Tree { code, modules }
}

/// Module → the other modules it imports.
fn imports(t: &Tree) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for (m, code) in &t.code {
        let mut deps = BTreeSet::new();
        for p in crate_paths(code) {
            if let Some(d) = target(&p, &t.modules) {
                deps.insert(d);
            }
        }
        // `super::x` from `a::b` is `a::x`.
        let parent = m.rsplit_once("::").map_or("", |(p, _)| p);
        let mut rest = code.as_str();
        while let Some(i) = rest.find("super::") {
            let after = &rest[i + "super::".len()..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let full = if parent.is_empty() { name } else { format!("{parent}::{name}") };
            if let Some(d) = target(&full, &t.modules) {
                deps.insert(d);
            }
            rest = after;
        }
        deps.remove(m);
        graph.insert(m.clone(), deps);
    }
    graph
}

fn in_http(m: &str) -> bool {
    m == "http" || m.starts_with("http::")
}

#[test]
fn the_domain_does_not_speak_http() {
    let t = tree("server");
    let mut broken = vec![];
    for (m, code) in &t.code {
        if in_http(m) || ROOTS.contains(&m.as_str()) {
            continue;
        }
        let words = ["axum", "AppState", "AppError", "tower_http"];
        for w in words {
            if code.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|tok| tok == w) {
                broken.push(format!("{m} names `{w}`"));
            }
        }
        if crate_paths(code).iter().any(|p| in_http(p.split("::").next().unwrap_or(""))) {
            broken.push(format!("{m} imports crate::http"));
        }
    }
    assert!(broken.is_empty(), "the domain speaks HTTP:\n{}", broken.join("\n"));
}

#[test]
fn no_crate_has_an_import_cycle() {
    for krate in ["server", "kvo-api", "kvo-photo", "mobile-core"] {
        if let Some(cycle) = cycle(&imports(&tree(krate))) {
            panic!("import cycle in {krate}: {}", cycle.join(" → "));
        }
    }
}

/// A cycle of the module graph (the roots left out: they only wire), if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // Depth-first search for a back edge; report the cycle found.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for d in graph.get(m).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(d, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys().filter(|m| !ROOTS.contains(&m.as_str())) {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = vec![];
            // The roots only wire; start from every other module.
            let g: BTreeMap<String, BTreeSet<String>> = graph
                .iter()
                .filter(|(k, _)| !ROOTS.contains(&k.as_str()))
                .map(|(k, v)| {
                    (k.clone(), v.iter().filter(|d| !ROOTS.contains(&d.as_str())).cloned().collect())
                })
                .collect();
            if let Some(cycle) = visit(m, &g, &mut state, &mut stack) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The parser itself: a group import, a plain path, super, strings and comments ignored.
    let code = code_of(
        "use crate::{a::B, c, d::{e, f}};\nfn x() { crate::g::h(); } // crate::zz\nlet s = \"crate::yy\";",
    );
    assert_eq!(crate_paths(&code), ["a::B", "c", "d::{e, f}", "g::h"]);
    let modules: BTreeSet<String> = ["a", "d", "g", "g::h"].iter().map(|s| s.to_string()).collect();
    assert_eq!(target("g::h::i", &modules).as_deref(), Some("g::h"));
    assert_eq!(target("d::{e, f}", &modules).as_deref(), Some("d"));
    // A known loop is found.
    let t = Tree {
        code: [("x", "use crate::y;"), ("y", "fn f() { crate::x::g() }"), ("z", "use super::x;")]
            .into_iter()
            .map(|(m, c)| (m.to_string(), c.to_string()))
            .collect(),
        modules: ["x", "y", "z"].iter().map(|s| s.to_string()).collect(),
    };
    let g = imports(&t);
    assert!(g["x"].contains("y") && g["y"].contains("x") && g["z"].contains("x"), "{g:?}");
    assert!(cycle(&g).is_some());
}
