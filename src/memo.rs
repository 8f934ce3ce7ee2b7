//! Values parsed from stored text, remembered by that text, per thread.
//!
//! Some stored texts are read on every request and parsed the same way
//! every time: a tenant's settings document on each submission (8 % of a
//! submission's instructions), a ticket's verification on each row of a
//! queue page (8 % of a page's; BENCHMARKS.md, issue 18, sixteenth part).
//! Keyed by the whole text, a remembered value is never stale: a changed
//! document is another key. Use one [`ParsedTexts`] per kind of text, in a
//! `thread_local!`, so that no lock is taken.

use std::cell::RefCell;
use std::collections::HashMap;

pub struct ParsedTexts<T> {
    parsed: RefCell<HashMap<Box<str>, T, foldhash::fast::RandomState>>,
    at_most: usize,
}

impl<T: Clone> ParsedTexts<T> {
    /// Remembers up to `at_most` texts; past that it starts again, so a
    /// deployment with more distinct texts than that costs what parsing
    /// each one costs, and its memory stays bounded.
    pub fn new(at_most: usize) -> Self {
        Self { parsed: RefCell::default(), at_most }
    }

    /// `parse(text)`, or what it returned the last time it was given the
    /// same text. Failures are not remembered.
    pub fn get_or_parse<E>(&self, text: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, E> {
        if let Some(value) = self.parsed.borrow().get(text) {
            return Ok(value.clone());
        }
        let value = parse(text)?;
        let mut parsed = self.parsed.borrow_mut();
        if parsed.len() >= self.at_most {
            parsed.clear();
        }
        parsed.insert(text.into(), value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::ParsedTexts;

    #[test]
    fn a_text_is_parsed_once_failures_again_and_memory_stays_bounded() {
        let memo = ParsedTexts::new(2);
        let mut parses = 0;
        let mut parse = |t: &str| {
            parses += 1;
            t.parse::<i32>()
        };
        assert_eq!(memo.get_or_parse("1", &mut parse), Ok(1));
        assert_eq!(memo.get_or_parse("1", &mut parse), Ok(1));
        assert!(memo.get_or_parse("x", &mut parse).is_err());
        assert!(memo.get_or_parse("x", &mut parse).is_err());
        assert_eq!(memo.get_or_parse("2", &mut parse), Ok(2));
        assert_eq!(memo.get_or_parse("3", &mut parse), Ok(3));
        assert_eq!(memo.parsed.borrow().len(), 1);
        assert_eq!(memo.get_or_parse("3", &mut parse), Ok(3));
        assert_eq!(parses, 5);
    }
}
