//! Which shards a reader reads, and when: ListShards (all pages), and the lineage rule of resharding.
//!
//! ```text
//!   shardId-0 (parent, CLOSED) ──read to its end──▶ shardId-1 (child) ─┐
//!                              └───────────────────▶ shardId-2 (child) ─┴─▶ (merged) shardId-3: both parents first
//! ```
//!
//! A split closes its parent and opens two children; a merge closes two parents (`ParentShardId` and
//! `AdjacentParentShardId`) and opens one child. Records of a partition key move from the parent to a child at
//! the split, so a child is read only once every parent it has was read to its end (GetRecords answered no
//! `NextShardIterator`): reading both at once is how readers lose the per-key order. A parent that is no longer
//! listed has expired (its records are past retention), and counts as read.

use std::collections::BTreeMap;

use super::client::{Failure, KinesisClient, with_stream};

/// A shard as ListShards (or a GetRecords' `ChildShards`) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// `shardId-000000000001`.
    pub id: String,
    /// The shards it was split or merged from.
    pub parents: Vec<String>,
}

/// Every shard of the stream, following ListShards' `NextToken` through all pages.
pub async fn list_shards(client: &KinesisClient) -> Result<Vec<ShardInfo>, Failure> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .call("ListShards", |c| {
                // A page after the first names only its token, never the stream.
                let request = match &token {
                    Some(token) => c.list_shards().next_token(token),
                    None => with_stream!(c.list_shards(), &client.target),
                };
                request.send()
            })
            .await?;
        shards.extend(page.shards.unwrap_or_default().into_iter().map(|s| ShardInfo {
            parents: s.parent_shard_id.into_iter().chain(s.adjacent_parent_shard_id).collect(),
            id: s.shard_id,
        }));
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(shards),
        }
    }
}

/// The number in a shard id (`shardId-000000000003` -> 3), for [`Record::shard`](sluice_core::runtime::record::Record).
pub fn shard_number(id: &str) -> Option<u32> {
    id.rsplit('-').next().and_then(|n| n.parse().ok())
}

/// Where a shard is in its reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Known; a parent is still being read.
    Waiting,
    /// Being read.
    Reading,
    /// Read to its end.
    Done,
}

/// The shards a reader knows, their parents and their status.
#[derive(Debug, Default)]
pub struct Lineage {
    shards: BTreeMap<String, (Vec<String>, Status)>,
}

impl Lineage {
    /// Adds shards not known yet (as waiting); known ones are left as they are.
    pub fn add(&mut self, shards: impl IntoIterator<Item = ShardInfo>) {
        for shard in shards {
            self.shards.entry(shard.id).or_insert((shard.parents, Status::Waiting));
        }
    }

    /// The waiting shards whose parents are all read (or expired), now marked as being read.
    pub fn start_ready(&mut self) -> Vec<String> {
        let ready: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, (parents, status))| {
                *status == Status::Waiting
                    && parents.iter().all(|p| self.shards.get(p).is_none_or(|(_, s)| *s == Status::Done))
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ready {
            if let Some((_, status)) = self.shards.get_mut(id) {
                *status = Status::Reading;
            }
        }
        ready
    }

    /// Marks a shard read to its end.
    pub fn finish(&mut self, id: &str) {
        if let Some((_, status)) = self.shards.get_mut(id) {
            *status = Status::Done;
        }
    }

    /// The shards being read.
    pub fn reading(&self) -> impl Iterator<Item = &str> {
        self.shards.iter().filter(|(_, (_, s))| *s == Status::Reading).map(|(id, _)| id.as_str())
    }

    /// Whether `id` is known.
    pub fn knows(&self, id: &str) -> bool {
        self.shards.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parents: &[&str]) -> ShardInfo {
        ShardInfo { id: id.into(), parents: parents.iter().map(|p| (*p).to_owned()).collect() }
    }

    #[test]
    fn children_wait_for_every_parent() {
        let mut lineage = Lineage::default();
        lineage.add([shard("s0", &[]), shard("s1", &["s0"]), shard("s2", &["s0"]), shard("gone-child", &["gone"])]);
        assert_eq!(lineage.start_ready(), ["gone-child", "s0"], "an expired parent counts as read");
        assert!(lineage.start_ready().is_empty(), "started once");
        lineage.finish("s0");
        assert_eq!(lineage.start_ready(), ["s1", "s2"]);
        lineage.add([shard("s3", &["s1", "s2"])]);
        lineage.finish("s1");
        assert!(lineage.start_ready().is_empty(), "a merge waits for its adjacent parent too");
        lineage.finish("s2");
        assert_eq!(lineage.start_ready(), ["s3"]);
        assert_eq!(lineage.reading().collect::<Vec<_>>(), ["gone-child", "s3"]);
    }

    #[test]
    fn shard_numbers_come_from_the_id() {
        assert_eq!(shard_number("shardId-000000000012"), Some(12));
        assert_eq!(shard_number("odd"), None);
    }
}
