//! The minijinja environment every markdown template renders in: the pre-GameDay brief
//! (`plan::brief`) and the post-mortem (`report::render`).
//!
//! Input: nothing. Output: an [`Environment`] with the settings the templates are written for:
//! undefined values are errors (a missing field is a bug, not an empty string), a block tag
//! takes its line and leading whitespace with it, and a template's final newline is kept. Must
//! not: add templates or render — each stage does, from its own context, with its own errors.

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior};

/// A fresh environment with the shared settings and no templates.
///
/// # Errors
///
/// A [`minijinja::Error`] if the syntax settings are refused (they are constant, so this is a
/// bug).
pub(crate) fn environment<'source>() -> Result<Environment<'source>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()?,
    );
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_values_are_errors_and_block_lines_vanish() {
        let mut env = environment().expect("environment");
        env.add_template("t", "{% if true %}\n  a\n{% endif %}\n")
            .expect("template");
        let t = env.get_template("t").expect("added");
        assert_eq!(t.render(()).expect("renders"), "  a\n");
        env.add_template("u", "{{ missing }}").expect("template");
        let u = env.get_template("u").expect("added");
        assert!(u.render(()).is_err(), "an undefined value is an error");
    }
}
