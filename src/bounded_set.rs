//! A set that remembers at most a fixed number of the most recently inserted items, so a
//! long-running process cannot grow it without bound (e.g. the risk gate's client order ids,
//! whose durable duplicate check is the store's UNIQUE `client_order_id`).

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// Most client order ids the risk gate keeps in memory.
pub const SEEN_IDS_CAPACITY: usize = 10_000;

/// A set of at most `capacity` items; inserting past it forgets the oldest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedSet<T: Hash + Eq + Clone> {
    capacity: usize,
    items: HashSet<T>,
    order: VecDeque<T>,
}

impl<T: Hash + Eq + Clone> BoundedSet<T> {
    /// An empty set holding at most `capacity` items (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            items: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether `item` is among the remembered items.
    pub fn contains(&self, item: &T) -> bool {
        self.items.contains(item)
    }

    /// Remembers `item`, forgetting the oldest one when full; false if it was already there.
    pub fn insert(&mut self, item: T) -> bool {
        if self.items.contains(&item) {
            return false;
        }
        if self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.items.remove(&old);
            }
        }
        self.items.insert(item.clone());
        self.order.push_back(item);
        true
    }

    /// How many items are remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl<T: Hash + Eq + Clone> Default for BoundedSet<T> {
    /// Capacity [`SEEN_IDS_CAPACITY`].
    fn default() -> Self {
        Self::with_capacity(SEEN_IDS_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item9_seen_ids_stay_bounded_and_forget_the_oldest() {
        let mut set = BoundedSet::with_capacity(3);
        for i in 0..10 {
            assert!(set.insert(format!("AH-{i}")));
        }
        assert_eq!(set.len(), 3);
        assert!(!set.contains(&"AH-6".to_string()));
        assert!(set.contains(&"AH-7".to_string()) && set.contains(&"AH-9".to_string()));
        assert!(
            !set.insert("AH-9".to_string()),
            "a repeat is not re-inserted"
        );
        assert_eq!(set.len(), 3);
        let mut gate_ids: BoundedSet<String> = BoundedSet::default();
        for i in 0..(SEEN_IDS_CAPACITY + 500) {
            gate_ids.insert(i.to_string());
        }
        assert_eq!(gate_ids.len(), SEEN_IDS_CAPACITY);
    }
}
