//! The README shows real code: its "pkg-tracing in one screen" block is the example file that
//! `cargo test` compiles, character for character.

#[test]
fn the_readme_snippet_is_the_compiled_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("the README");
    let example =
        std::fs::read_to_string(format!("{root}/pkg-tracing/examples/one-screen.rs")).expect("the example");
    let section = readme.split("## pkg-tracing in one screen").nth(1).expect("the section");
    let block = section.split("```rust\n").nth(1).and_then(|b| b.split("```").next()).expect("a rust block");
    assert_eq!(block, example, "README.md's snippet differs from pkg-tracing/examples/one-screen.rs");
}
