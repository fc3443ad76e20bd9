//! Applying an op to a shard. Replaying a log applies exactly the ops that succeeded
//! when they were logged, in the same order, so it reproduces the same state.

use super::Op;
use crate::error::ShardError;
use crate::parallel::Sequential;
use crate::shard::Shard;

impl Shard {
    /// Applies one op. Replaying a log applies exactly the ops that succeeded when
    /// they were logged, in the same order, so it reproduces the same state.
    pub fn apply(&mut self, op: Op) -> Result<(), ShardError> {
        match op {
            Op::CreateIndex(cfg) => self.create_index(cfg),
            Op::DropIndex { index } => {
                self.drop_index(&index);
                Ok(())
            }
            Op::Upsert {
                index,
                id,
                vector,
                metadata,
                at,
            } => self
                .index_mut(&index)?
                .upsert_at(&id, &vector, metadata, at),
            Op::Vacuum { index } => {
                self.index_mut(&index)?.vacuum();
                Ok(())
            }
            Op::BeginLinkBatch { index } => {
                self.index_mut(&index)?.begin_batch_linking();
                Ok(())
            }
            Op::EndLinkBatch { index } => {
                self.index_mut(&index)?.finish_batch_linking(&Sequential);
                Ok(())
            }
            Op::SetMaintenance { index, config } => self.index_mut(&index)?.set_maintenance(config),
            Op::GraphVacuum { before } => {
                self.graph_mut().vacuum(before);
                Ok(())
            }
            Op::RepairDone { ids } => {
                self.graph_mut().repair_done(&ids);
                Ok(())
            }
            Op::RepairPending { ids } => {
                for id in &ids {
                    self.graph_mut().mark_repair(id);
                }
                Ok(())
            }
            Op::Refine {
                index,
                from,
                count,
                ef,
            } => {
                self.index_mut(&index)?.refine(from, count, ef as usize);
                Ok(())
            }
            Op::Reinforce { index, ids, at } => {
                let ix = self.index_mut(&index)?;
                for id in &ids {
                    ix.touch(id, at);
                }
                Ok(())
            }
            Op::Delete { index, id } => {
                if self.delete(&index, &id)? && self.graph().has_live_edges(&id) {
                    self.graph_mut().mark_repair(&id);
                }
                Ok(())
            }
            Op::KvSet { key, value } => self.kv_mut().set(&key, value),
            Op::KvDelete { key } => {
                self.kv_mut().delete(&key);
                Ok(())
            }
            Op::GraphLink {
                side,
                node,
                relation,
                other,
                weight,
                at,
                props,
            } => {
                crate::graph::check_relation(&relation)?;
                crate::graph::check_props(&props)?;
                let edge = crate::graph::Edge {
                    other,
                    created: at,
                    deleted: None,
                    weight,
                    props,
                };
                self.graph_mut().link(side, &node, &relation, edge);
                Ok(())
            }
            Op::GraphUnlink {
                side,
                node,
                relation,
                other,
                at,
                hard,
            } => {
                self.graph_mut()
                    .unlink(side, &node, &relation, &other, at, hard);
                Ok(())
            }
            Op::SetAutoLinks { index, rules } => self.index_mut(&index)?.set_auto_links(rules),
            Op::Compress { index, precision } => self.index_mut(&index)?.compress(precision),
        }
    }
}
