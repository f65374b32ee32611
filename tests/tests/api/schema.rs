//! `schema.graphql` is the schema's SDL; regenerate with `tether print-schema > schema.graphql`.

#[test]
fn schema_graphql_matches_the_built_schema() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed =
        std::fs::read_to_string(path).expect("schema.graphql exists at the repository root");
    let built = api::graphql::sdl();
    assert!(
        committed == built,
        "schema.graphql is out of date: run `cargo run -- print-schema > schema.graphql`"
    );
}
