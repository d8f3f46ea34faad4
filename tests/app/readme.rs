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
