//! WAL shipping, as Litestream does it: the database's write-ahead log is copied frame by
//! frame, every `interval`, into a replica folder, so a failure loses at most one interval
//! of writes (seconds), and a round costs what was written since the last one, not the size
//! of the database (`replica`'s full copies cost that).
//!
//! A replica holds **generations**. A generation is the database file as it was when the
//! generation began (`base.db`) and the WAL's bytes from its header on (`wal`), appended
//! round by round. Restoring one is SQLite's own crash recovery: `base.db` with `wal` beside
//! it as `-wal` replays every frame up to the last valid commit.
//!
//! Why a copy is consistent while another process writes:
//! - every round holds a read transaction on the database. While it is held, SQLite cannot
//!   restart the WAL (restarting needs every reader off it), and a checkpoint may only
//!   copy frames the reader can already see into the database file. Those frames are in
//!   the shipped WAL too, so replaying it repairs a page the base copy caught mid-write;
//! - only frames whose salts and cumulative checksums verify, up to the last **commit**
//!   frame, are shipped: a transaction being written is never shipped half, and the next
//!   round starts after it;
//! - between rounds the writer may checkpoint and restart the WAL (new salts). The frames
//!   written after the last round and before the restart are then only in the database
//!   file, so a restarted WAL (salts changed, or the file shorter than what was shipped)
//!   begins a new generation with a fresh base copy. Nothing is lost; a generation costs
//!   one database copy.
//!
//! The WAL format (the SQLite file format, section 4): a 32-byte header (magic
//! 0x377f0682/3, whose low bit says the checksums' byte order, version, page size,
//! checkpoint sequence, two salts, a checksum of the first 24 bytes), then frames of a
//! 24-byte header (page number, database size in pages for a commit frame else 0, the two
//! salts, a checksum cumulative over the WAL up to this frame) and one page.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;
use tokio::sync::watch;

use crate::error::{BackupError, Result};

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

/// The parsed WAL header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WalHeader {
    /// The checksums are over big-endian words (magic 0x377f0683).
    big_endian: bool,
    page_size: usize,
    salt: (u32, u32),
    checksum: (u32, u32),
}

fn word(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let w = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

fn be(bytes: &[u8], at: usize) -> u32 {
    word(bytes, at, true)
}

/// SQLite's WAL checksum of `data` (a multiple of 8 bytes), continuing from `seed`.
fn checksum(big_endian: bool, data: &[u8], seed: (u32, u32)) -> (u32, u32) {
    let (mut s0, mut s1) = seed;
    for chunk in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(chunk, 0, big_endian)).wrapping_add(s1);
        s1 = s1.wrapping_add(word(chunk, 4, big_endian)).wrapping_add(s0);
    }
    (s0, s1)
}

/// The header, if `bytes` starts with a valid one (magic, version, page size, checksum).
fn parse_header(bytes: &[u8]) -> Option<WalHeader> {
    if bytes.len() < HEADER {
        return None;
    }
    let magic = be(bytes, 0);
    if magic & !1 != 0x377f_0682 || be(bytes, 4) != 3_007_000 {
        return None;
    }
    let big_endian = magic & 1 == 1;
    let page_size = match be(bytes, 8) {
        1 => 65_536,
        n if n.is_power_of_two() && (512..=32_768).contains(&n) => n as usize,
        _ => return None,
    };
    let checksum_stored = (be(bytes, 24), be(bytes, 28));
    if checksum(big_endian, &bytes[..24], (0, 0)) != checksum_stored {
        return None;
    }
    Some(WalHeader {
        big_endian,
        page_size,
        salt: (be(bytes, 16), be(bytes, 20)),
        checksum: checksum_stored,
    })
}

/// Where verification of a run of frames stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Committed {
    /// Bytes of `frames` up to and including the last valid commit frame.
    len: usize,
    /// The running checksum after that commit frame.
    running: (u32, u32),
    frames: u64,
}

/// The committed prefix of `frames` (which start at a frame boundary of the WAL of
/// `header`, after a frame whose cumulative checksum is `running`).
fn committed_prefix(header: &WalHeader, running: (u32, u32), frames: &[u8]) -> Committed {
    let size = FRAME_HEADER + header.page_size;
    let mut at = 0;
    let mut sum = running;
    let mut count = 0;
    let mut committed = Committed {
        len: 0,
        running,
        frames: 0,
    };
    while at + size <= frames.len() {
        let frame = &frames[at..at + size];
        if (be(frame, 8), be(frame, 12)) != header.salt {
            break;
        }
        let s = checksum(header.big_endian, &frame[..8], sum);
        let s = checksum(header.big_endian, &frame[FRAME_HEADER..], s);
        if s != (be(frame, 16), be(frame, 20)) {
            break;
        }
        sum = s;
        count += 1;
        at += size;
        if be(frame, 4) != 0 {
            committed = Committed {
                len: at,
                running: sum,
                frames: count,
            };
        }
    }
    committed
}

/// What to ship, where, and how often.
#[derive(Clone, Debug)]
pub struct WalPlan {
    /// The database (in WAL mode, as taonado-store opens it).
    pub database: PathBuf,
    /// The replica folder; generations go in `gen-NNNNNN` below it.
    pub replica: PathBuf,
    pub interval: Duration,
}

/// What a shipping run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WalReport {
    pub replica: PathBuf,
    pub rounds: u64,
    /// Generations begun (each one a copy of the database file).
    pub generations: u64,
    pub frames: u64,
    pub bytes: u64,
    /// Unix seconds of the last round that found the replica complete.
    pub last_shipped_at: Option<u64>,
}

/// The generation being appended to.
#[derive(Debug)]
struct Generation {
    dir: PathBuf,
    header: WalHeader,
    /// Bytes of the WAL shipped (header included).
    offset: u64,
    running: (u32, u32),
}

/// Ships the WAL of one database, a round at a time.
pub struct Shipper {
    plan: WalPlan,
    conn: Connection,
    generation: Option<Generation>,
    report: WalReport,
}

fn wal_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push("-wal");
    PathBuf::from(path)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io("syncing", dir))
}

impl Shipper {
    pub fn open(plan: WalPlan) -> Result<Self> {
        let conn = crate::sqlite::open_existing(&plan.database, false)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(BackupError::sql(
                "reading the journal mode of",
                &plan.database,
            ))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(BackupError::NotWal {
                path: plan.database.clone(),
                mode,
            });
        }
        std::fs::create_dir_all(&plan.replica)
            .map_err(BackupError::io("creating", &plan.replica))?;
        let report = WalReport {
            replica: plan.replica.clone(),
            ..WalReport::default()
        };
        Ok(Self {
            plan,
            conn,
            generation: None,
            report,
        })
    }

    pub fn report(&self) -> &WalReport {
        &self.report
    }

    /// One round under a read transaction: new committed frames appended to the current
    /// generation, or a new generation when there is none or the WAL restarted.
    pub fn round(&mut self) -> Result<()> {
        let db = self.plan.database.clone();
        self.conn
            .execute_batch("BEGIN")
            .map_err(BackupError::sql("beginning a read transaction on", &db))?;
        let result = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(BackupError::sql("reading", &db))
            .and_then(|_| self.ship());
        // A read transaction: nothing to keep or lose in ending it.
        let _ = self.conn.execute_batch("COMMIT");
        result?;
        self.report.rounds += 1;
        self.report.last_shipped_at = Some(taonado_deployment::unix_now());
        Ok(())
    }

    fn ship(&mut self) -> Result<()> {
        let wal = wal_path(&self.plan.database);
        let bytes = match std::fs::read(&wal) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(BackupError::io("reading", &wal)(e)),
        };
        let header = parse_header(&bytes);
        let continues = match (&self.generation, header) {
            (Some(g), Some(h)) => g.header == h && bytes.len() as u64 >= g.offset,
            _ => false,
        };
        if !continues {
            return self.begin(&bytes, header);
        }
        let Some(generation) = self.generation.as_mut() else {
            return Ok(());
        };
        let start = generation.offset as usize;
        let committed = committed_prefix(&generation.header, generation.running, &bytes[start..]);
        if committed.len > 0 {
            append(
                &generation.dir.join("wal"),
                &bytes[start..start + committed.len],
            )?;
            generation.offset += committed.len as u64;
            generation.running = committed.running;
            self.report.frames += committed.frames;
            self.report.bytes += committed.len as u64;
        }
        Ok(())
    }

    /// A new generation: the database file and the WAL's committed prefix, both read under
    /// this round's read transaction.
    fn begin(&mut self, wal: &[u8], header: Option<WalHeader>) -> Result<()> {
        let number = self.last_generation_number()? + 1;
        let dir = self.plan.replica.join(format!("gen-{number:06}"));
        let partial = self.plan.replica.join(format!(".gen-{number:06}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(BackupError::io("removing", &partial))?;
        }
        std::fs::create_dir_all(&partial).map_err(BackupError::io("creating", &partial))?;
        let base = partial.join("base.db");
        std::fs::copy(&self.plan.database, &base).map_err(BackupError::io("copying", &base))?;
        File::open(&base)
            .and_then(|f| f.sync_all())
            .map_err(BackupError::io("syncing", &base))?;
        let (shipped, generation) = match header {
            Some(header) => {
                let committed = committed_prefix(&header, header.checksum, &wal[HEADER..]);
                let len = HEADER + committed.len;
                self.report.frames += committed.frames;
                (
                    &wal[..len],
                    Some(Generation {
                        dir: dir.clone(),
                        header,
                        offset: len as u64,
                        running: committed.running,
                    }),
                )
            }
            // No WAL yet (or an empty one): the file is the whole database. The header a
            // writer puts there next starts another generation, since what happened to the
            // file in between cannot be known.
            None => (&[][..], None),
        };
        append(&partial.join("wal"), shipped)?;
        std::fs::rename(&partial, &dir).map_err(BackupError::io("renaming", &partial))?;
        sync_dir(&self.plan.replica)?;
        self.report.generations += 1;
        self.report.bytes += shipped.len() as u64;
        self.generation = generation;
        tracing::debug!(generation = %dir.display(), wal_bytes = shipped.len(), "wal generation begun");
        self.prune(number)
    }

    fn last_generation_number(&self) -> Result<u64> {
        Ok(generation_numbers(&self.plan.replica)?
            .last()
            .copied()
            .unwrap_or(0))
    }

    /// Keeps the newest two generations: the one being written and the complete one
    /// before it.
    fn prune(&self, newest: u64) -> Result<()> {
        for n in generation_numbers(&self.plan.replica)? {
            if n + 1 < newest {
                let dir = self.plan.replica.join(format!("gen-{n:06}"));
                std::fs::remove_dir_all(&dir).map_err(BackupError::io("removing", &dir))?;
            }
        }
        Ok(())
    }
}

/// The generations in `replica`, oldest first.
fn generation_numbers(replica: &Path) -> Result<Vec<u64>> {
    let mut numbers = Vec::new();
    let entries = std::fs::read_dir(replica).map_err(BackupError::io("listing", replica))?;
    for entry in entries {
        let entry = entry.map_err(BackupError::io("listing", replica))?;
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("gen-"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

fn append(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(BackupError::io("opening", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_data())
        .map_err(BackupError::io("appending to", path))
}

/// Ships until `shutdown` turns true; a clean stop ships one last round. `fresh` is told
/// the time of each complete round.
pub async fn run(
    plan: WalPlan,
    mut shutdown: watch::Receiver<bool>,
    fresh: &watch::Sender<Option<std::time::SystemTime>>,
) -> Result<WalReport> {
    let interval = plan.interval;
    let mut shipper = Shipper::open(plan)?;
    loop {
        let stop = *shutdown.borrow();
        let started = std::time::SystemTime::now();
        shipper = tokio::task::spawn_blocking(move || shipper.round().map(|()| shipper))
            .await
            .map_err(|e| BackupError::Task {
                message: e.to_string(),
            })??;
        fresh.send_replace(Some(started));
        if stop {
            return Ok(shipper.report.clone());
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return Ok(shipper.report.clone());
                }
            }
        }
    }
}

/// What [`restore`] rebuilt.
#[derive(Clone, Debug, Serialize)]
pub struct WalRestore {
    pub generation: PathBuf,
    pub database: PathBuf,
    /// Bytes of WAL replayed over the generation's base.
    pub wal_bytes: u64,
}

/// Rebuilds the database of the newest generation in `replica` as the new file `out`:
/// the base copy, its WAL replayed by SQLite's recovery and checkpointed into the file,
/// then `PRAGMA integrity_check`.
pub fn restore(replica: &Path, out: &Path) -> Result<WalRestore> {
    if out.exists() {
        return Err(BackupError::Exists {
            path: out.to_path_buf(),
        });
    }
    if !replica.is_dir() {
        return Err(BackupError::NotFound {
            path: replica.to_path_buf(),
        });
    }
    let newest = generation_numbers(replica)?
        .last()
        .copied()
        .ok_or_else(|| BackupError::NotFound {
            path: replica.join("gen-000001"),
        })?;
    let generation = replica.join(format!("gen-{newest:06}"));
    let base = generation.join("base.db");
    let shipped = generation.join("wal");
    std::fs::copy(&base, out).map_err(BackupError::io("copying", &base))?;
    let wal_bytes = std::fs::metadata(&shipped).map(|m| m.len()).unwrap_or(0);
    if wal_bytes > 0 {
        let target = wal_path(out);
        let mut src = File::open(&shipped).map_err(BackupError::io("opening", &shipped))?;
        let mut dst = File::create(&target).map_err(BackupError::io("creating", &target))?;
        let mut buf = Vec::new();
        src.seek(SeekFrom::Start(0))
            .and_then(|_| src.read_to_end(&mut buf))
            .map_err(BackupError::io("reading", &shipped))?;
        dst.write_all(&buf)
            .and_then(|()| dst.sync_all())
            .map_err(BackupError::io("writing", &target))?;
    }
    let conn = Connection::open(out).map_err(BackupError::sql("opening", out))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(BackupError::sql("checkpointing the replayed WAL into", out))?;
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(BackupError::sql("checking", out))?;
    if check != "ok" {
        return Err(BackupError::DatabaseCheck {
            path: out.to_path_buf(),
            detail: check,
        });
    }
    Ok(WalRestore {
        generation,
        database: out.to_path_buf(),
        wal_bytes,
    })
}

/// Whether `path` is a WAL replica (a folder with a `gen-NNNNNN` generation), rather than
/// a sealed backup set.
pub fn is_replica(path: &Path) -> bool {
    path.is_dir() && generation_numbers(path).is_ok_and(|g| !g.is_empty())
}

/// `backup restore --path <WAL replica>`: the database rebuilt by [`restore`] into a
/// temporary file beside the target, checked to index `expected`'s chain, then written
/// into the target as a set's database is ([`crate::restore`]'s rules: an existing file is
/// replaced only with `force`, after a copy of it is kept).
pub fn restore_database(
    plan: &crate::restore::RestorePlan,
) -> Result<crate::restore::RestoreReport> {
    use crate::manifest::Component;
    use crate::restore::{RestoreReport, RestoredFile};
    if let Some(c) = plan.component.filter(|c| *c != Component::Database) {
        return Err(BackupError::NoComponent {
            path: plan.set.clone(),
            component: c.as_str(),
        });
    }
    let target = &plan.database;
    let replaced = target.exists();
    if replaced && !plan.force && !plan.dry_run {
        return Err(BackupError::Exists {
            path: target.clone(),
        });
    }
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(BackupError::io("creating", dir))?;
    let scratch = tempfile::Builder::new()
        .prefix(".wal-restore-")
        .tempdir_in(dir)
        .map_err(BackupError::io("creating a temporary folder in", dir))?;
    let rebuilt = scratch.path().join("restored.db");
    let replay = restore(&plan.set, &rebuilt)?;
    let facts = {
        let conn = crate::sqlite::open_existing(&rebuilt, false)?;
        crate::sqlite::facts(&conn, &rebuilt)?
    };
    if let Some(chain_id) = facts.chain_id
        && chain_id != plan.expected.chain_id
    {
        return Err(BackupError::DatabaseOfOtherChain {
            path: plan.set.clone(),
            chain_id,
            network: plan.expected.network.clone(),
            expected_chain_id: plan.expected.chain_id,
        });
    }
    let mut file = RestoredFile {
        component: Component::Database,
        from: replay.generation.display().to_string(),
        to: target.clone(),
        replaced,
        kept: None,
    };
    if !plan.dry_run {
        if replaced {
            let kept = crate::restore::kept_path(target, plan.now);
            crate::sqlite::online_copy(target, &kept)?;
            file.kept = Some(kept);
            crate::sqlite::restore_into(&rebuilt, target)?;
        } else {
            crate::sqlite::online_copy(&rebuilt, target)?;
        }
    }
    let created_at = std::fs::metadata(replay.generation.join("wal"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(RestoreReport {
        set: plan.set.clone(),
        network: plan.expected.network.clone(),
        created_at,
        dry_run: plan.dry_run,
        files: vec![file],
        checkpoint: facts.checkpoint.map(|c| c.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(db: &Path) -> Connection {
        let conn = Connection::open(db).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        // Small, so the WAL restarts (new salts, new generations) during the test.
        conn.pragma_update(None, "wal_autocheckpoint", 20).unwrap();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)")
            .unwrap();
        conn
    }

    fn insert(conn: &Connection, id: i64) {
        conn.execute("INSERT INTO t (id, v) VALUES (?1, zeroblob(600))", [id])
            .unwrap();
    }

    fn restored_ids(replica: &Path, dir: &Path, name: &str) -> Vec<i64> {
        let out = dir.join(name);
        restore(replica, &out).unwrap();
        let conn = Connection::open(&out).unwrap();
        let mut stmt = conn.prepare("SELECT id FROM t ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn the_header_and_frame_checksums_of_a_real_wal_verify_and_a_flipped_byte_stops_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let conn = Connection::open(&db).unwrap();
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
            .unwrap();
        for id in 1..=5 {
            insert(&conn, id);
        }
        let bytes = std::fs::read(wal_path(&db)).unwrap();
        let header = parse_header(&bytes).expect("a valid header");
        let frames = (bytes.len() - HEADER) / (FRAME_HEADER + header.page_size);
        let all = committed_prefix(&header, header.checksum, &bytes[HEADER..]);
        assert_eq!(all.frames as usize, frames);
        assert_eq!(HEADER + all.len, bytes.len());
        let mut bad = bytes.clone();
        let last_frame = bytes.len() - header.page_size - FRAME_HEADER;
        bad[last_frame + FRAME_HEADER + 7] ^= 1;
        let cut = committed_prefix(&header, header.checksum, &bad[HEADER..]);
        assert!(cut.frames < all.frames, "{cut:?} vs {all:?}");
        let mut bad_header = bytes.clone();
        bad_header[17] ^= 1;
        assert!(parse_header(&bad_header).is_none());
    }

    #[test]
    fn a_replica_shipped_while_another_connection_writes_restores_every_committed_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = writer(&db);
        insert(&conn, 1);
        let replica = dir.path().join("replica");
        let mut shipper = Shipper::open(WalPlan {
            database: db.clone(),
            replica: replica.clone(),
            interval: Duration::ZERO,
        })
        .unwrap();
        let mut next = 2;
        let mut checked = 0;
        // Rounds between bursts of writes; autocheckpoints restart the WAL several times.
        for burst in 0..30 {
            for _ in 0..(burst % 7) {
                insert(&conn, next);
                next += 1;
            }
            shipper.round().unwrap();
            if burst % 10 == 9 {
                let ids = restored_ids(&replica, dir.path(), &format!("r{burst}.db"));
                assert_eq!(ids, (1..next).collect::<Vec<_>>(), "after burst {burst}");
                checked += 1;
            }
        }
        assert_eq!(checked, 3);
        let report = shipper.report().clone();
        assert!(report.generations >= 2, "{report:?}");
        assert!(report.frames > 0, "{report:?}");
        // Only the newest two generations are kept.
        assert!(generation_numbers(&replica).unwrap().len() <= 2);
    }

    #[test]
    fn rounds_concurrent_with_a_writer_thread_restore_a_prefix_and_finally_everything() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = writer(&db);
        insert(&conn, 1);
        let replica = dir.path().join("replica");
        let mut shipper = Shipper::open(WalPlan {
            database: db.clone(),
            replica: replica.clone(),
            interval: Duration::ZERO,
        })
        .unwrap();
        const ROWS: i64 = 400;
        let writing = std::thread::spawn(move || {
            conn.busy_timeout(Duration::from_secs(10)).unwrap();
            for id in 2..=ROWS {
                insert(&conn, id);
            }
        });
        let mut restores = 0;
        while !writing.is_finished() {
            shipper.round().unwrap();
            if restores < 5 {
                // Whatever the interleaving, a restore is rows 1..=k for some k: committed
                // transactions in order, none half.
                let ids = restored_ids(&replica, dir.path(), &format!("mid{restores}.db"));
                let k = ids.len() as i64;
                assert_eq!(ids, (1..=k).collect::<Vec<_>>());
                restores += 1;
            }
        }
        writing.join().unwrap();
        shipper.round().unwrap();
        assert_eq!(
            restored_ids(&replica, dir.path(), "final.db"),
            (1..=ROWS).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_half_written_transaction_is_not_shipped_and_the_next_round_completes_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = writer(&db);
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        insert(&conn, 1);
        let replica = dir.path().join("replica");
        let mut shipper = Shipper::open(WalPlan {
            database: db.clone(),
            replica: replica.clone(),
            interval: Duration::ZERO,
        })
        .unwrap();
        shipper.round().unwrap();
        insert(&conn, 2);
        // Cut the WAL mid-frame as a crash of the writer would: the torn tail is not shipped.
        let wal = wal_path(&db);
        let whole = std::fs::read(&wal).unwrap();
        let shipped_before = shipper.generation.as_ref().unwrap().offset as usize;
        std::fs::write(&wal, &whole[..whole.len() - 100]).unwrap();
        shipper.round().unwrap();
        assert_eq!(
            shipper.generation.as_ref().unwrap().offset as usize,
            shipped_before,
            "a torn transaction was shipped"
        );
        std::fs::write(&wal, &whole).unwrap();
        shipper.round().unwrap();
        assert_eq!(restored_ids(&replica, dir.path(), "r.db"), vec![1, 2]);
    }

    #[test]
    fn restore_never_overwrites_and_a_database_not_in_wal_mode_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rollback.db");
        Connection::open(&db)
            .unwrap()
            .execute_batch("CREATE TABLE t (id INTEGER)")
            .unwrap();
        let refused = Shipper::open(WalPlan {
            database: db.clone(),
            replica: dir.path().join("replica"),
            interval: Duration::ZERO,
        });
        assert!(matches!(refused, Err(BackupError::NotWal { .. })));
        assert!(matches!(
            restore(&dir.path().join("replica"), &db),
            Err(BackupError::Exists { .. })
        ));
    }
}
