//! The models described in `src/lib.rs`: the first ones run the engine's real code.
#![cfg(loom)]

use loom::future::block_on;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex, RwLock};
use loom::thread;

use kektordb_io::storage::{CrashAt, CrashStorage};
use kektordb_shards::durable::{DurableShard, FsyncPolicy};
use kektordb_shards::op::Op;
use loom_tests::commit::{commit_buffered, run_group, write_job, Job};
use loom_tests::oneshot::{oneshot, Canceled};
use loom_tests::queue::{bounded, TrySendError};

/// loom's exploration with at most `n` preemptions per execution (the real code
/// has many lock operations; bugs of this kind show within two or three).
fn bounded_model(n: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(n);
    builder.check(f);
}

#[test]
fn mailbox_delivers_every_item_once_in_order() {
    bounded_model(2, || {
        let (tx, rx) = bounded::<(u8, u8)>(1);
        // Sender 0 sends two items (its order is checked), sender 1 one.
        let senders: Vec<_> = (0..2u8)
            .map(|who| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for n in 0..2 - who {
                        block_on(tx.send((who, n))).expect("the receiver is there");
                    }
                })
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        while let Some(item) = block_on(rx.recv()) {
            got.push(item);
        }
        for s in senders {
            s.join().unwrap();
        }
        assert_eq!(got.len(), 3, "{got:?}");
        let mine: Vec<u8> = got
            .iter()
            .filter(|(w, _)| *w == 0)
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(mine, [0, 1], "sender 0's order: {got:?}");
        assert!(got.contains(&(1, 0)), "{got:?}");
    });
}

#[test]
fn mailbox_gives_items_back_when_the_receiver_is_gone() {
    loom::model(|| {
        let (tx, rx) = bounded::<u8>(1);
        tx.try_send(1).unwrap();
        assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
        let waiting = thread::spawn(move || block_on(tx.send(3)));
        drop(rx);
        // Whether it was waiting for room or not, the send ends with its item.
        assert_eq!(waiting.join().unwrap(), Err(3));
    });
}

#[test]
fn oneshot_answers_or_cancels() {
    loom::model(|| {
        let (tx, rx) = oneshot::<u8>();
        let t = thread::spawn(move || {
            let _ = tx.send(5);
        });
        assert_eq!(block_on(rx), Ok(5));
        t.join().unwrap();
        let (tx, rx) = oneshot::<u8>();
        let t = thread::spawn(move || drop(tx));
        assert_eq!(block_on(rx), Err(Canceled));
        t.join().unwrap();
    });
}

/// Group commit on the real code: two writers send write jobs (`write_job`) through
/// the mailbox; the shard thread runs `run_group` and `commit_buffered` on a
/// `DurableShard` over `CrashStorage` (what a sync made durable is kept apart).
/// A writer that gets Ok finds its key in the durable image.
#[test]
fn group_commit() {
    bounded_model(2, || {
        let storage = CrashStorage::new(CrashAt::Never);
        let (mut shard, _) =
            DurableShard::recover(storage.clone(), FsyncPolicy::Always, false).unwrap();
        let (tx, rx) = bounded::<Job<DurableShard<CrashStorage>>>(4);
        let writers: Vec<_> = (0..2u8)
            .map(|who| {
                let (tx, storage) = (tx.clone(), storage.clone());
                thread::spawn(move || {
                    let key = format!("k{who}");
                    let k = key.clone();
                    let (job, answer) = write_job(move |d: &mut DurableShard<CrashStorage>| {
                        d.apply(Op::KvSet {
                            key: k,
                            value: vec![who],
                        })
                    });
                    assert!(block_on(tx.send(job)).is_ok());
                    drop(tx);
                    if let Ok(Ok(Ok(()))) = block_on(answer) {
                        let (after, _) = DurableShard::recover(
                            storage.after_crash(),
                            FsyncPolicy::Always,
                            false,
                        )
                        .unwrap();
                        assert_eq!(
                            after.shard().kv().get(&key),
                            Some(&[who][..]),
                            "acknowledged before durable"
                        );
                    }
                })
            })
            .collect();
        drop(tx);
        while let Some(first) = block_on(rx.recv()) {
            let mut acks = Vec::new();
            run_group(&mut shard, first, &rx, 8, &mut acks, || false);
            let _ = commit_buffered(&mut shard, acks, false);
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

#[derive(Clone, Debug)]
enum File {
    /// generation, temp name?, state
    Snap(u64, bool, Vec<u64>),
    /// generation, records
    Log(u64, Vec<u64>),
}

/// A model of the snapshot/log switch (`src/engine/files.rs`): the executor
/// commits, creates `aof.2`, switches to it and hands the state copy to a
/// background writer, then keeps acknowledging writes into `aof.2`; the writer
/// writes `snap.2.tmp`, syncs, renames and keeps generation 1 (the previous one is
/// the fallback; only older ones are deleted). A start-up at any point must rebuild
/// a prefix of the ops holding every acknowledged one, from the newest snapshot or,
/// if that one is damaged, from the previous one.
#[test]
fn snapshot_switch() {
    loom::model(|| {
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
                        // Generations below the previous snapshot (1) are removed:
                        // there are none, so snap.1 and aof.1 stay as the fallback.
                        dir.lock().unwrap().retain(|f| match f {
                            File::Snap(g, ..) | File::Log(g, _) => *g >= 1,
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
                let mut snaps: Vec<(u64, Vec<u64>)> = files
                    .iter()
                    .filter_map(|f| match f {
                        File::Snap(g, false, st) => Some((*g, st.clone())),
                        _ => None,
                    })
                    .collect();
                snaps.sort_by_key(|(g, _)| std::cmp::Reverse(*g));
                assert!(!snaps.is_empty(), "a snapshot exists");
                // The newest snapshot and, as if it were damaged, the previous one
                // must both give a valid state.
                for (base, snap) in snaps.into_iter().take(2) {
                    rebuild_and_check(&files, base, snap, must_have_9);
                }
            })
        };
        executor.join().unwrap();
        startup.join().unwrap();
    });
}

/// Start-up from snapshot `base`: its state, then every log of its generation or
/// later, in order.
fn rebuild_and_check(files: &[File], base: u64, mut state: Vec<u64>, must_have_9: bool) {
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
        "not a prefix holding the acknowledged ops from snap.{base}: {state:?}"
    );
    assert!(
        !must_have_9 || state.len() == 3,
        "lost acknowledged 9 from snap.{base}"
    );
}
