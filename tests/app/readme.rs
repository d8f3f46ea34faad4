//! README's configuration table must match the configuration struct.

use clap::CommandFactory;
use newsdesk::config::Cli;

#[test]
fn readme_documents_every_setting_with_its_default() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let command = Cli::command();
    let mut checked = 0;
    for arg in command.get_arguments() {
        let Some(env) = arg.get_env() else { continue };
        let env = env.to_str().unwrap();
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| `{env}`")))
            .unwrap_or_else(|| panic!("README has no row for {env}"));
        let flag = format!("`--{}`", arg.get_long().unwrap());
        assert!(
            row.contains(&flag),
            "README row for {env} names {flag}: {row}"
        );
        let default = arg
            .get_default_values()
            .first()
            .map(|value| format!("`{}`", value.to_str().unwrap()));
        if let Some(default) = default {
            assert!(
                row.contains(&default),
                "README row for {env} gives default {default}: {row}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "{checked} settings checked");
}

/// Every test docs/compliance.md names as proof exists, so that the
/// document an assessor reads never points at nothing.
#[test]
fn the_compliance_document_names_only_tests_that_exist() {
    let root = env!("CARGO_MANIFEST_DIR");
    let doc = std::fs::read_to_string(format!("{root}/docs/compliance.md")).unwrap();
    let mut named = 0;
    for cell in doc.split('`') {
        let Some((file, test)) = cell.split_once("::") else {
            continue;
        };
        if !file.chars().all(|c| c.is_ascii_lowercase() || c == '_') || file.is_empty() {
            continue;
        }
        let source = std::fs::read_to_string(format!("{root}/tests/app/{file}.rs"))
            .unwrap_or_else(|_| panic!("docs/compliance.md names tests/app/{file}.rs"));
        if test == "*" {
            assert!(source.contains("#[tokio::test]"), "{file} has tests");
        } else {
            assert!(
                source.contains(&format!("async fn {test}()")),
                "docs/compliance.md names {file}::{test}, which does not exist"
            );
        }
        named += 1;
    }
    assert!(named > 20, "the document names its proofs ({named})");
}
