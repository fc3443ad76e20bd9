//! The models described in `src/lib.rs`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex, RwLock};
use loom::thread;
use std::collections::VecDeque;

#[test]
fn group_commit() {
    loom::model(|| {
        // Queue of (op, ack flag); written and durable images of the log.
        let queue: Arc<Mutex<VecDeque<(u64, Arc<AtomicBool>)>>> =
            Arc::new(Mutex::new(VecDeque::new()));
        let durable: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (1..=2u64)
            .map(|op| {
                let (queue, durable) = (queue.clone(), durable.clone());
                thread::spawn(move || {
                    let ack = Arc::new(AtomicBool::new(false));
                    queue.lock().unwrap().push_back((op, ack.clone()));
                    if ack.load(Ordering::Acquire) {
                        assert!(
                            durable.lock().unwrap().contains(&op),
                            "acknowledged before durable"
                        );
                    }
                })
            })
            .collect();
        // The shard thread: drain what is there, commit, then acknowledge.
        for _ in 0..2 {
            let batch: Vec<_> = queue.lock().unwrap().drain(..).collect();
            let mut written: Vec<u64> = durable.lock().unwrap().clone();
            written.extend(batch.iter().map(|(op, _)| *op));
            *durable.lock().unwrap() = written; // the fsync
            for (_, ack) in batch {
                ack.store(true, Ordering::Release);
            }
        }
        for w in writers {
            w.join().unwrap();
        }
    });
}

#[test]
fn create_before_use() {
    loom::model(|| {
        let catalog = Arc::new(RwLock::new(false)); // does the index exist?
        let shard_queue: Arc<Mutex<Vec<&'static str>>> = Arc::new(Mutex::new(Vec::new()));
        let creator = {
            let (catalog, q) = (catalog.clone(), shard_queue.clone());
            thread::spawn(move || {
                let mut c = catalog.write().unwrap();
                *c = true;
                q.lock().unwrap().push("create"); // enqueued while the lock is held
            })
        };
        let writer = {
            let (catalog, q) = (catalog.clone(), shard_queue.clone());
            thread::spawn(move || {
                let exists = *catalog.read().unwrap();
                if exists {
                    q.lock().unwrap().push("add");
                }
            })
        };
        creator.join().unwrap();
        writer.join().unwrap();
        let q = shard_queue.lock().unwrap();
        if let Some(add) = q.iter().position(|j| *j == "add") {
            let create = q
                .iter()
                .position(|j| *j == "create")
                .expect("create is queued");
            assert!(
                create < add,
                "a write reached the shard before its index: {q:?}"
            );
        }
    });
}

/// The snapshot/AOF switch (`src/engine/logfiles.rs`): the executor commits, creates
/// `aof.2`, switches to it and hands the state copy to a background writer, then keeps
/// acknowledging writes into `aof.2`; the writer writes `snap.2.tmp`, syncs, renames
/// and deletes generation 1. A start-up at any point (newest snapshot, then every log
/// of its generation or later) must rebuild a prefix of the ops holding every
/// acknowledged one.
#[test]
fn snapshot_switch() {
    loom::model(|| {
        #[derive(Clone, Debug)]
        enum File {
            /// generation, temp name?, state
            Snap(u64, bool, Vec<u64>),
            /// generation, records
            Log(u64, Vec<u64>),
        }
        // snap.1 (empty state) + aof.1 holding acknowledged ops 7, 8.
        let dir: Arc<Mutex<Vec<File>>> = Arc::new(Mutex::new(vec![
            File::Snap(1, false, vec![]),
            File::Log(1, vec![7, 8]),
        ]));
        let acked_9 = Arc::new(AtomicBool::new(false));
        let executor = {
            let (dir, acked_9) = (dir.clone(), acked_9.clone());
            thread::spawn(move || {
                dir.lock().unwrap().push(File::Log(2, vec![])); // create aof.2, switch
                let copy = vec![7, 8]; // the state at the switch
                let writer = {
                    let dir = dir.clone();
                    thread::spawn(move || {
                        dir.lock().unwrap().push(File::Snap(2, true, copy)); // tmp, synced
                        for f in dir.lock().unwrap().iter_mut() {
                            if let File::Snap(2, tmp, _) = f {
                                *tmp = false; // rename
                            }
                        }
                        dir.lock().unwrap().retain(|f| match f {
                            File::Snap(g, ..) | File::Log(g, _) => *g >= 2,
                        });
                    })
                };
                for f in dir.lock().unwrap().iter_mut() {
                    if let File::Log(2, records) = f {
                        records.push(9); // write 9, commit
                    }
                }
                acked_9.store(true, Ordering::SeqCst);
                writer.join().unwrap();
            })
        };
        let startup = {
            let (dir, acked_9) = (dir.clone(), acked_9.clone());
            thread::spawn(move || {
                let must_have_9 = acked_9.load(Ordering::SeqCst);
                let files = dir.lock().unwrap().clone();
                let (base, mut state) = files
                    .iter()
                    .filter_map(|f| match f {
                        File::Snap(g, false, st) => Some((*g, st.clone())),
                        _ => None,
                    })
                    .max_by_key(|(g, _)| *g)
                    .expect("a snapshot exists");
                let mut logs: Vec<(u64, Vec<u64>)> = files
                    .iter()
                    .filter_map(|f| match f {
                        File::Log(g, r) if *g >= base => Some((*g, r.clone())),
                        _ => None,
                    })
                    .collect();
                logs.sort();
                for (_, r) in logs {
                    state.extend(r);
                }
                let full = [7, 8, 9];
                assert!(
                    state.len() >= 2 && state[..] == full[..state.len()],
                    "not a prefix holding the acknowledged ops: {state:?}"
                );
                assert!(!must_have_9 || state.len() == 3, "lost acknowledged 9");
            })
        };
        executor.join().unwrap();
        startup.join().unwrap();
    });
}
