//! What a GraphQL document must stay within before it is executed: nesting (checked on the raw
//! text, before the parser sees it), aliases, and introspection when it is switched off. Depth and
//! complexity are enforced by the schema itself (`graphql::build`).

use crate::config::GraphqlLimits;
use async_graphql::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};

/// Deepest nesting the parser is allowed to see: it recurses without a bound on nested values.
pub const MAX_NESTING: usize = 64;

/// Why a document was refused before execution; the message is sent to the client.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Nested deeper than [`MAX_NESTING`].
    #[error("the document nests deeper than {MAX_NESTING} levels")]
    TooDeep,
    /// Not a GraphQL document.
    #[error("{0}")]
    Syntax(#[from] async_graphql::parser::Error),
    /// More aliases than the limit it carries.
    #[error("the document uses more than {0} aliases")]
    TooManyAliases(usize),
    /// Asks for `__schema` or `__type` while introspection is off.
    #[error("introspection is disabled on this server")]
    Introspection,
}

/// Parses `query`, refusing documents outside `limits`.
pub fn parse_within(query: &str, limits: &GraphqlLimits) -> Result<ExecutableDocument, Refused> {
    if nesting_depth(query) > MAX_NESTING {
        return Err(Refused::TooDeep);
    }
    let document = async_graphql::parser::parse_query(query)?;
    if count_aliases(&document) > limits.max_aliases {
        return Err(Refused::TooManyAliases(limits.max_aliases));
    }
    if !limits.introspection && uses_introspection(&document) {
        return Err(Refused::Introspection);
    }
    Ok(document)
}

/// The deepest nesting of `{`, `[` and `(` outside strings and comments; checked before parsing
/// so a hostile document cannot exhaust the parser's stack.
fn nesting_depth(query: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' => {
                let block = chars.peek() == Some(&'"');
                if block {
                    chars.next();
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        // Block string: runs to the next unescaped triple quote.
                        let mut quotes = 0;
                        while let Some(c) = chars.next() {
                            match c {
                                '\\' => {
                                    chars.next();
                                    quotes = 0;
                                }
                                '"' => {
                                    quotes += 1;
                                    if quotes == 3 {
                                        break;
                                    }
                                }
                                _ => quotes = 0,
                            }
                        }
                    }
                    // `""` is an empty string.
                    continue;
                }
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Aliases in every operation and fragment: each one is a field resolved again, at its full cost.
fn count_aliases(document: &ExecutableDocument) -> usize {
    fn walk(set: &Positioned<SelectionSet>) -> usize {
        set.node
            .items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()) + walk(&field.node.selection_set)
                }
                Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: usize = match &document.operations {
        DocumentOperations::Single(op) => walk(&op.node.selection_set),
        DocumentOperations::Multiple(ops) => {
            ops.values().map(|op| walk(&op.node.selection_set)).sum()
        }
    };
    operations
        + document
            .fragments
            .values()
            .map(|f| walk(&f.node.selection_set))
            .sum::<usize>()
}

/// Whether the document asks for `__schema` or `__type` (refused when introspection is off,
/// rather than silently answering null).
fn uses_introspection(document: &ExecutableDocument) -> bool {
    fn walk(set: &Positioned<SelectionSet>) -> bool {
        set.node.items.iter().any(|item| match &item.node {
            Selection::Field(field) => {
                matches!(field.node.name.node.as_str(), "__schema" | "__type")
                    || walk(&field.node.selection_set)
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set),
            Selection::FragmentSpread(_) => false,
        })
    }
    let in_operations = match &document.operations {
        DocumentOperations::Single(op) => walk(&op.node.selection_set),
        DocumentOperations::Multiple(ops) => ops.values().any(|op| walk(&op.node.selection_set)),
    };
    in_operations
        || document
            .fragments
            .values()
            .any(|f| walk(&f.node.selection_set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_aliases: usize, introspection: bool) -> GraphqlLimits {
        GraphqlLimits {
            max_body_bytes: 1024,
            max_depth: 15,
            max_complexity: 1000,
            max_aliases,
            introspection,
            graphiql: false,
        }
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert_eq!(nesting_depth("{ a { b(x: [[1]]) } }"), 5);
        assert_eq!(nesting_depth("{ a(s: \"{{{[[[\") # {{{{\n }"), 2);
        assert_eq!(nesting_depth("{ a(s: \"\"\"{{{ \\\"\"\" {{\"\"\") }"), 2);
        let hostile = format!(
            "{{ __typename(a: {}1{}) }}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(nesting_depth(&hostile) > MAX_NESTING);
    }

    #[test]
    fn aliases_are_counted_everywhere() {
        let doc = async_graphql::parser::parse_query(
            "query { a: x { b: y } ...F ... on Q { c: z } } fragment F on Q { d: w }",
        )
        .unwrap();
        assert_eq!(count_aliases(&doc), 4);
    }

    #[test]
    fn introspection_is_found_in_operations_and_fragments() {
        let parse = |q| async_graphql::parser::parse_query(q).unwrap();
        assert!(uses_introspection(&parse(
            "{ __schema { types { name } } }"
        )));
        assert!(uses_introspection(&parse(
            "{ ...F } fragment F on Query { __type(name: \"X\") { name } }"
        )));
        assert!(!uses_introspection(&parse(
            "{ __typename viewer { role } }"
        )));
    }

    #[test]
    fn a_hostile_document_is_refused_before_the_parser_sees_it() {
        let hostile = format!("{{ a(x: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        let refused = parse_within(&hostile, &limits(30, true)).unwrap_err();
        assert!(matches!(refused, Refused::TooDeep));
        assert_eq!(
            refused.to_string(),
            "the document nests deeper than 64 levels"
        );
    }

    #[test]
    fn each_limit_refuses_with_its_own_message() {
        let two_aliases = "{ a: __typename b: __typename }";
        assert!(parse_within(two_aliases, &limits(2, true)).is_ok());
        let refused = parse_within(two_aliases, &limits(1, true)).unwrap_err();
        assert_eq!(refused.to_string(), "the document uses more than 1 aliases");

        let schema = "{ __schema { queryType { name } } }";
        assert!(parse_within(schema, &limits(30, true)).is_ok());
        let refused = parse_within(schema, &limits(30, false)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "introspection is disabled on this server"
        );

        let refused = parse_within("{ a", &limits(30, true)).unwrap_err();
        assert!(matches!(refused, Refused::Syntax(_)), "{refused:?}");
    }
}
