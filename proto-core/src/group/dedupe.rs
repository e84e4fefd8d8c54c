//! At-most-once delivery of chat messages: a bounded memory of (sender, message id).

use alloc::collections::{BTreeSet, VecDeque};

use crate::identity::NodeId;

/// The chat messages already delivered, oldest forgotten first.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeenMessages {
    order: VecDeque<(NodeId, [u8; 16])>,
    set: BTreeSet<(NodeId, [u8; 16])>,
}

impl SeenMessages {
    /// Records a message; false if it was already seen (a duplicate to drop).
    pub(crate) fn first_time(&mut self, sender: NodeId, id: [u8; 16], capacity: usize) -> bool {
        let entry = (sender, id);
        if self.set.contains(&entry) {
            return false;
        }
        if capacity == 0 {
            return true;
        }
        while self.order.len() >= capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.order.push_back(entry);
        self.set.insert(entry);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    #[test]
    fn a_message_is_seen_once_per_sender_and_the_memory_is_bounded() {
        let alice = Identity::from_secret_bytes(&[1; 32]).node_id();
        let bob = Identity::from_secret_bytes(&[2; 32]).node_id();
        let mut seen = SeenMessages::default();
        assert!(seen.first_time(alice, [1; 16], 2));
        assert!(!seen.first_time(alice, [1; 16], 2));
        assert!(seen.first_time(bob, [1; 16], 2));
        assert!(seen.first_time(bob, [2; 16], 2));
        assert_eq!(seen.order.len(), 2);
        // The oldest was forgotten to stay within the bound.
        assert!(seen.first_time(alice, [1; 16], 2));
    }
}
