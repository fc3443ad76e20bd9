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

#[test]
fn generation_switch() {
    loom::model(|| {
        // The directory: (generation, is_tmp, complete, ops). Generation 1 holds ops 7, 8.
        type Dir = Vec<(u64, bool, bool, Vec<u64>)>;
        let dir: Arc<Mutex<Dir>> = Arc::new(Mutex::new(vec![(1, false, true, vec![7, 8])]));
        let compactor = {
            let dir = dir.clone();
            thread::spawn(move || {
                dir.lock().unwrap().push((2, true, false, Vec::new())); // create aof.2.log.tmp
                {
                    let mut d = dir.lock().unwrap();
                    let tmp = d.iter_mut().find(|x| x.0 == 2).unwrap();
                    tmp.3 = vec![7, 8];
                    tmp.2 = true; // written and fsynced
                }
                dir.lock().unwrap().iter_mut().find(|x| x.0 == 2).unwrap().1 = false; // rename
                dir.lock().unwrap().retain(|x| x.0 != 1); // delete the old generation
            })
        };
        // A start-up at any point lists the directory and takes the newest
        // non-temporary generation (ShardLog::open); it must be complete.
        let reader = {
            let dir = dir.clone();
            thread::spawn(move || {
                let d = dir.lock().unwrap();
                let newest = d
                    .iter()
                    .filter(|x| !x.1)
                    .max_by_key(|x| x.0)
                    .expect("a log exists");
                assert!(newest.2, "the newest generation is incomplete");
                assert_eq!(newest.3, vec![7, 8]);
            })
        };
        compactor.join().unwrap();
        reader.join().unwrap();
    });
}
