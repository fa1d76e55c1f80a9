//! Pages of a scan over the cache, which has no order and no cursor of its own.

use std::collections::BinaryHeap;
use std::sync::Arc;

use session_core::{ScanCursor, ScanPage, SessionKey};

/// The `page_size` smallest keys after `cursor` among `keys`, and the cursor after them.
///
/// moka iterates in no stable order, so each page walks the whole cache and keeps only the
/// smallest keys past the last one returned, in a heap of `page_size`: memory stays bounded by
/// the page, at the price of a full walk per page, which is fine for an in-process store that
/// operators rarely enumerate.
pub(crate) fn page(
    keys: impl Iterator<Item = Arc<String>>,
    cursor: &ScanCursor,
    page_size: u32,
) -> ScanPage {
    let size = usize::try_from(page_size.max(1)).unwrap_or(usize::MAX);
    let after = cursor.position();
    let mut smallest: BinaryHeap<Arc<String>> = BinaryHeap::with_capacity(size + 1);
    for key in keys.filter(|key| cursor.is_start() || key.as_str() > after) {
        if smallest.len() < size {
            smallest.push(key);
        } else if smallest.peek().is_some_and(|largest| key < *largest) {
            smallest.pop();
            smallest.push(key);
        }
    }
    let full = smallest.len() == size;
    let sorted = smallest.into_sorted_vec();
    let next = match sorted.last() {
        Some(last) if full => Some(ScanCursor::from_position(last.as_str())),
        _ => None,
    };
    let keys = sorted
        .iter()
        .filter_map(|key| SessionKey::parse(key).ok())
        .collect();
    ScanPage::new(keys, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<Arc<String>> {
        (0..n)
            .map(|i| Arc::new(format!("k{i:04}{}", "x".repeat(20))))
            .collect()
    }

    #[test]
    fn pages_visit_every_key_once_in_order() {
        let all = keys(25);
        let mut cursor = ScanCursor::start();
        let mut seen = Vec::new();
        loop {
            let page = page(all.iter().rev().cloned(), &cursor, 10);
            seen.extend(page.keys.iter().map(|k| k.as_str().to_owned()));
            match page.next {
                Some(next) => cursor = next,
                None => break,
            }
        }
        let expected: Vec<String> = all.iter().map(|k| k.to_string()).collect();
        assert_eq!(seen, expected);
    }
}
