//! The crate graph, checked: every workspace crate's normal and build dependencies on
//! `ifd-*` crates must be edges of [`ALLOWED`] (the table in ARCHITECTURE.md, "The
//! dependency graph"). Dev-dependencies are free. A new crate, or a new edge, fails
//! here until the table (and ARCHITECTURE.md) says it is intended.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Which `ifd-*` crates each workspace package may depend on (normal and build
/// dependencies). `None`: any (the unpublished example and bench packages).
const ALLOWED: &[(&str, Option<&[&str]>)] = &[
    ("ifd-core", Some(&[])),
    ("ifd-pressure", Some(&["ifd-core"])),
    ("ifd-baseline", Some(&["ifd-core", "ifd-pressure"])),
    ("ifd-patterns", Some(&["ifd-pressure", "ifd-baseline"])),
    ("ifd-rollout", Some(&["ifd-core"])),
    ("ifd-budget", Some(&["ifd-core"])),
    ("ifd-sim", Some(&["ifd-core"])),
    ("ifd-mbo-client", Some(&["ifd-core", "ifd-budget"])),
    (
        "ifd-engine",
        Some(&["ifd-core", "ifd-pressure", "ifd-baseline", "ifd-patterns"]),
    ),
    ("ifd-examples", None),
    ("ifd-benches", None),
];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// package -> its `ifd-*` normal and build dependencies.
fn ifd_edges(meta: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("package name").to_owned();
        let deps = graph.entry(name.clone()).or_insert_with(BTreeSet::new);
        for d in p["dependencies"].as_array().expect("dependencies") {
            let dep = d["name"].as_str().expect("dependency name");
            let dev = d["kind"].as_str() == Some("dev");
            if dep.starts_with("ifd-") && !dev && dep != name {
                deps.insert(dep.to_owned());
            }
        }
    }
    graph
}

#[test]
fn every_ifd_dependency_is_an_allowed_edge() {
    let graph = ifd_edges(&metadata());
    let allowed: BTreeMap<&str, Option<&[&str]>> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    for (package, deps) in &graph {
        match allowed.get(package.as_str()) {
            None => problems.push(format!(
                "workspace package `{package}` is not in the allowed-edges table \
                 (examples/tests/crate_graph.rs and ARCHITECTURE.md): add it with the \
                 ifd crates it may depend on"
            )),
            Some(None) => {}
            Some(Some(ok)) => {
                for dep in deps {
                    if !ok.contains(&dep.as_str()) {
                        problems.push(format!(
                            "`{package}` depends on `{dep}`, an edge the crate graph does \
                             not allow (allowed for `{package}`: {ok:?})"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "crate graph:\n  {}",
        problems.join("\n  ")
    );
    // The table is the graph, not a superset that hides nothing: the bottom crate is
    // really at the bottom and really used.
    assert!(graph["ifd-core"].is_empty());
    assert!(graph.values().any(|d| d.contains("ifd-core")));
}

#[test]
fn the_allowed_table_has_no_cycle() {
    // Depth-first over the table: a cycle would let two crates each "allow" the other.
    fn visit<'a>(
        n: &'a str,
        table: &BTreeMap<&'a str, &'a [&'a str]>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(n) {
            return;
        }
        assert!(
            !path.contains(&n),
            "cycle in the allowed table: {path:?} -> {n}"
        );
        path.push(n);
        for d in table.get(n).copied().unwrap_or_default() {
            visit(d, table, path, done);
        }
        path.pop();
        done.insert(n);
    }
    let table: BTreeMap<&str, &[&str]> = ALLOWED
        .iter()
        .filter_map(|(n, d)| d.map(|d| (*n, d)))
        .collect();
    let mut done = BTreeSet::new();
    for n in table.keys() {
        visit(n, &table, &mut Vec::new(), &mut done);
    }
}
