//! The run registry: every long-running taonado process (devnet, up, monitor, index,
//! validator run, relayer, loadtest) writes one file into `~/.taonado/run/` (0700) naming
//! its pid, command, network, start time and the kernel's start time of that pid, and
//! removes it when it exits ([`Registration`] is an RAII guard). `taonado emergency stop`
//! reads the folder ([`list`]), tells live entries from stale ones ([`Liveness`]: a dead
//! pid, or a pid the kernel has since given to another program) and stops the live ones
//! ([`stop`]: SIGTERM, a bounded wait for a clean exit, SIGKILL for one that does not
//! exit). A stale entry is reported and removed, never signalled.
//!
//! Deliberately tiny (serde and libc only) so every service crate and the CLI can use it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The registry folder under a home directory: `<home>/.taonado/run`.
pub fn run_dir(home: &Path) -> PathBuf {
    home.join(".taonado").join("run")
}

/// What went wrong with the registry folder.
#[derive(Debug, thiserror::Error)]
pub enum RunRegError {
    #[error("cannot use the run registry {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the run entry: {0}")]
    Encode(#[from] serde_json::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunRegError + '_ {
    move |source| RunRegError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One registered process, as its file records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    pub pid: u32,
    /// The taonado command: `devnet`, `up`, `monitor`, `index`, `validator run`, `relayer`,
    /// `loadtest`.
    pub command: String,
    /// The network it serves or talks to, when it has one.
    pub network: Option<String>,
    /// Unix seconds when it registered.
    pub started_at: u64,
    /// The kernel's start time of the pid (clock ticks since boot, `/proc/<pid>/stat`
    /// field 22): a different value later means the pid now belongs to another program.
    pub proc_start: Option<u64>,
}

/// An entry's file in the registry folder: `<pid>.json`.
fn entry_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.json"))
}

/// The registration of the running process; removes its file when dropped.
#[derive(Debug)]
pub struct Registration {
    path: PathBuf,
    entry: RunEntry,
}

impl Registration {
    pub fn entry(&self) -> &RunEntry {
        &self.entry
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Only our own file: an `emergency stop` may already have removed it, and the pid
        // is unique among live processes, so nobody else writes this name while we live.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Registers the current process under `dir` (created 0700). The file is written to a
/// temporary name and renamed, so a reader never sees half an entry.
pub fn register(
    dir: &Path,
    command: &str,
    network: Option<&str>,
) -> Result<Registration, RunRegError> {
    create_private_dir(dir)?;
    let pid = std::process::id();
    let entry = RunEntry {
        pid,
        command: command.to_owned(),
        network: network.map(str::to_owned),
        started_at: unix_now(),
        proc_start: proc_stat(pid).map(|s| s.start),
    };
    let path = entry_path(dir, pid);
    let tmp = dir.join(format!(".{pid}.json.tmp"));
    let bytes = serde_json::to_vec_pretty(&entry)?;
    {
        let mut file = open_private(&tmp).map_err(io(&tmp))?;
        file.write_all(&bytes).map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(Registration { path, entry })
}

fn create_private_dir(dir: &Path) -> Result<(), RunRegError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// One file of the registry folder: the entry, or why it could not be read.
#[derive(Debug)]
pub struct Listed {
    pub file: PathBuf,
    pub entry: Result<RunEntry, String>,
}

/// Every entry of the registry folder, by pid. A missing folder is an empty registry.
pub fn list(dir: &Path) -> Result<Vec<Listed>, RunRegError> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut listed = Vec::new();
    for item in read {
        let item = item.map_err(io(dir))?;
        let file = item.path();
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let entry = std::fs::read(&file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<RunEntry>(&bytes).map_err(|e| e.to_string())
            });
        listed.push(Listed { file, entry });
    }
    listed.sort_by_key(|l| (l.entry.as_ref().map_or(u32::MAX, |e| e.pid), l.file.clone()));
    Ok(listed)
}

/// What `/proc/<pid>/stat` says about a pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 3: `R`, `S`, `Z` (exited, not yet reaped)…
    pub state: char,
    /// Field 22: start time in clock ticks since boot.
    pub start: u64,
}

/// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and
/// may itself hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_stat(line: &str) -> Option<ProcStat> {
    let rest = &line[line.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // `rest` starts at field 3; field 22 is 19 further.
    let start = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start })
}

/// The stat of a live (or zombie) pid; `None` when there is no such process or no procfs.
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let line = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&line)
}

/// Whether an entry's process is still the one that registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Liveness {
    Alive,
    /// No such process (or it has exited and waits to be reaped).
    Dead,
    /// The pid is alive but was started at another time: another program has it now.
    Reused,
}

/// Decides [`Liveness`] from the kernel's view of the pid.
pub fn liveness(entry: &RunEntry) -> Liveness {
    match proc_stat(entry.pid) {
        Some(stat) if stat.state == 'Z' || stat.state == 'X' => Liveness::Dead,
        Some(stat) => match entry.proc_start {
            Some(start) if start != stat.start => Liveness::Reused,
            _ => Liveness::Alive,
        },
        // No procfs (not Linux): ask the kernel whether the pid exists at all.
        None if !Path::new("/proc/self/stat").exists() && pid_exists(entry.pid) => Liveness::Alive,
        None => Liveness::Dead,
    }
}

fn pid_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the pid exists and may be signalled.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn send(pid: u32, signal: libc::c_int) -> Result<(), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| format!("pid {pid} is out of range"))?;
    if pid <= 0 {
        return Err(format!("refusing to signal pid {pid}"));
    }
    // SAFETY: kill(2) on one positive pid; no memory is shared.
    match unsafe { libc::kill(pid, signal) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error().to_string()),
    }
}

/// What `stop` does.
#[derive(Clone, Debug)]
pub struct StopPlan {
    /// Only entries of this network (every entry when `None`).
    pub network: Option<String>,
    /// Only entries of these commands (`validator run`, `relayer`…; every command when
    /// `None`): incident mitigation stops the automation and leaves the chain and the
    /// monitor watching.
    pub commands: Option<Vec<String>>,
    /// How long a process has to exit after SIGTERM before SIGKILL.
    pub timeout: Duration,
    /// List what would be signalled; signal and remove nothing.
    pub dry_run: bool,
    /// How often exits are checked while waiting.
    pub poll: Duration,
}

impl StopPlan {
    pub fn new(timeout: Duration) -> Self {
        Self {
            network: None,
            commands: None,
            timeout,
            dry_run: false,
            poll: Duration::from_millis(50),
        }
    }
}

/// How one entry ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// It exited by itself after SIGTERM.
    Terminated { after_secs: f64 },
    /// It did not exit within the timeout and was killed (SIGKILL).
    Killed { after_secs: f64 },
    /// Still running after SIGKILL (or it could not be signalled).
    StillRunning { error: Option<String> },
    /// The entry's process is gone or the pid belongs to another program: the entry was
    /// removed and nothing was signalled.
    Stale { reason: String },
    /// `--dry-run`: it would be signalled.
    WouldSignal,
    /// The file could not be read (removed unless `--dry-run`); nothing was signalled.
    Unreadable { error: String },
}

/// One registry entry and what happened to it.
#[derive(Clone, Debug, Serialize)]
pub struct Stopped {
    pub file: PathBuf,
    pub pid: Option<u32>,
    pub command: Option<String>,
    pub network: Option<String>,
    pub started_at: Option<u64>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Everything `stop` did.
#[derive(Clone, Debug, Serialize)]
pub struct StopReport {
    pub dry_run: bool,
    pub timeout_secs: f64,
    pub processes: Vec<Stopped>,
}

impl StopReport {
    /// Nothing is left running that was asked to stop.
    pub fn all_stopped(&self) -> bool {
        !self
            .processes
            .iter()
            .any(|p| matches!(p.outcome, Outcome::StillRunning { .. }))
    }
}

/// Chains go last: the clients of a chain (validator, monitor, relayer…) are stopped
/// first so they end on their own terms rather than on a vanished node.
fn tier(command: &str) -> u8 {
    match command {
        "devnet" | "up" => 1,
        _ => 0,
    }
}

/// Stops every registered process (of `plan.network`): SIGTERM, wait up to
/// `plan.timeout` for a clean exit, SIGKILL the ones left. Clients before chains.
/// Blocks the calling thread while it waits.
pub fn stop(dir: &Path, plan: &StopPlan) -> Result<StopReport, RunRegError> {
    let me = std::process::id();
    let mut report = StopReport {
        dry_run: plan.dry_run,
        timeout_secs: plan.timeout.as_secs_f64(),
        processes: Vec::new(),
    };
    let mut live: Vec<(RunEntry, PathBuf)> = Vec::new();
    for listed in list(dir)? {
        let entry = match listed.entry {
            Ok(entry) => entry,
            Err(error) => {
                if !plan.dry_run {
                    let _ = std::fs::remove_file(&listed.file);
                }
                report.processes.push(Stopped {
                    file: listed.file,
                    pid: None,
                    command: None,
                    network: None,
                    started_at: None,
                    outcome: Outcome::Unreadable { error },
                });
                continue;
            }
        };
        if plan.network.is_some() && entry.network != plan.network {
            continue;
        }
        if plan
            .commands
            .as_ref()
            .is_some_and(|commands| !commands.contains(&entry.command))
        {
            continue;
        }
        let stale = match liveness(&entry) {
            _ if entry.pid == me => Some("the pid is this emergency stop's own".to_owned()),
            Liveness::Alive => None,
            Liveness::Dead => Some(format!("process {} is not running", entry.pid)),
            Liveness::Reused => Some(format!(
                "pid {} now belongs to another program (its start time differs)",
                entry.pid
            )),
        };
        if let Some(reason) = stale {
            if !plan.dry_run {
                let _ = std::fs::remove_file(&listed.file);
            }
            report
                .processes
                .push(stopped(&entry, listed.file, Outcome::Stale { reason }));
        } else {
            live.push((entry, listed.file));
        }
    }
    if plan.dry_run {
        for (entry, file) in live {
            report
                .processes
                .push(stopped(&entry, file, Outcome::WouldSignal));
        }
        return Ok(report);
    }
    for t in [0, 1] {
        let group: Vec<_> = live
            .iter()
            .filter(|(e, _)| tier(&e.command) == t)
            .cloned()
            .collect();
        for (outcome, (entry, file)) in stop_group(&group, plan).into_iter().zip(group) {
            if !matches!(outcome, Outcome::StillRunning { .. }) {
                // Normally the process removed it itself; a killed one could not.
                let _ = std::fs::remove_file(&file);
            }
            report.processes.push(stopped(&entry, file, outcome));
        }
    }
    Ok(report)
}

fn stopped(entry: &RunEntry, file: PathBuf, outcome: Outcome) -> Stopped {
    Stopped {
        file,
        pid: Some(entry.pid),
        command: Some(entry.command.clone()),
        network: entry.network.clone(),
        started_at: Some(entry.started_at),
        outcome,
    }
}

/// SIGTERM to each, one shared deadline, then SIGKILL to the ones left.
fn stop_group(group: &[(RunEntry, PathBuf)], plan: &StopPlan) -> Vec<Outcome> {
    let start = Instant::now();
    let mut outcomes: Vec<Option<Outcome>> = group
        .iter()
        .map(|(entry, _)| {
            send(entry.pid, libc::SIGTERM)
                .err()
                .map(|error| Outcome::StillRunning { error: Some(error) })
        })
        .collect();
    let gone = |entry: &RunEntry| liveness(entry) != Liveness::Alive;
    let wait_all =
        |outcomes: &mut Vec<Option<Outcome>>, deadline: Instant, make: &dyn Fn(f64) -> Outcome| {
            loop {
                for ((entry, _), outcome) in group.iter().zip(outcomes.iter_mut()) {
                    if outcome.is_none() && gone(entry) {
                        *outcome = Some(make(start.elapsed().as_secs_f64()));
                    }
                }
                if outcomes.iter().all(Option::is_some) || Instant::now() >= deadline {
                    return;
                }
                std::thread::sleep(plan.poll);
            }
        };
    wait_all(&mut outcomes, start + plan.timeout, &|after_secs| {
        Outcome::Terminated { after_secs }
    });
    let mut escalated = false;
    for ((entry, _), outcome) in group.iter().zip(outcomes.iter_mut()) {
        if outcome.is_none() {
            escalated = true;
            if let Err(error) = send(entry.pid, libc::SIGKILL) {
                *outcome = Some(Outcome::StillRunning { error: Some(error) });
            }
        }
    }
    if escalated {
        wait_all(&mut outcomes, Instant::now() + KILL_WAIT, &|after_secs| {
            Outcome::Killed { after_secs }
        });
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::StillRunning { error: None }))
        .collect()
}

/// How long a SIGKILLed process has to disappear.
const KILL_WAIT: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line = "4242 (taonado (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 9 0 777123 1000 50";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                start: 777123
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn own_process_is_alive_and_a_wrong_start_time_is_reuse() {
        let me = std::process::id();
        let stat = proc_stat(me).expect("procfs");
        let mut entry = RunEntry {
            pid: me,
            command: "monitor".into(),
            network: None,
            started_at: 0,
            proc_start: Some(stat.start),
        };
        assert_eq!(liveness(&entry), Liveness::Alive);
        entry.proc_start = Some(stat.start + 1);
        assert_eq!(liveness(&entry), Liveness::Reused);
        entry.pid = u32::MAX - 1;
        assert_eq!(liveness(&entry), Liveness::Dead);
    }

    #[test]
    fn registration_is_private_and_removed_on_drop() {
        let home = tempfile::tempdir().unwrap();
        let dir = run_dir(home.path());
        let reg = register(&dir, "index", Some("local")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(reg.path()), 0o600);
        }
        let listed = list(&dir).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].entry.as_ref().unwrap(), reg.entry());
        drop(reg);
        assert!(list(&dir).unwrap().is_empty());
    }

    #[test]
    fn stale_and_unreadable_entries_are_removed_never_signalled() {
        let home = tempfile::tempdir().unwrap();
        let dir = run_dir(home.path());
        create_private_dir(&dir).unwrap();
        let me = std::process::id();
        let reused = RunEntry {
            pid: me,
            command: "monitor".into(),
            network: Some("local".into()),
            started_at: 1,
            proc_start: proc_stat(me).map(|s| s.start + 1),
        };
        let dead = RunEntry {
            pid: u32::MAX - 1,
            ..reused.clone()
        };
        for e in [&reused, &dead] {
            std::fs::write(entry_path(&dir, e.pid), serde_json::to_vec(e).unwrap()).unwrap();
        }
        std::fs::write(dir.join("9.json"), b"{not json").unwrap();
        let mut plan = StopPlan::new(Duration::from_secs(1));
        plan.dry_run = true;
        let report = stop(&dir, &plan).unwrap();
        assert_eq!(report.processes.len(), 3);
        assert_eq!(list(&dir).unwrap().len(), 3, "a dry run removes nothing");
        plan.dry_run = false;
        let report = stop(&dir, &plan).unwrap();
        assert!(report.all_stopped());
        assert!(
            report.processes.iter().all(|p| matches!(
                p.outcome,
                Outcome::Stale { .. } | Outcome::Unreadable { .. }
            )),
            "{report:?}"
        );
        assert!(list(&dir).unwrap().is_empty());
        // The other network's entry is left alone.
        std::fs::write(
            entry_path(&dir, dead.pid),
            serde_json::to_vec(&dead).unwrap(),
        )
        .unwrap();
        plan.network = Some("testnet".into());
        assert!(stop(&dir, &plan).unwrap().processes.is_empty());
        assert_eq!(list(&dir).unwrap().len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_process_that_ignores_sigterm_is_killed_after_the_timeout() {
        use std::io::BufRead;
        // SIGTERM ignored, inherited across exec; "ready" says the trap is set.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "trap '' TERM; echo ready; exec sleep 30"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        let home = tempfile::tempdir().unwrap();
        let dir = run_dir(home.path());
        create_private_dir(&dir).unwrap();
        let entry = RunEntry {
            pid: child.id(),
            command: "relayer".into(),
            network: None,
            started_at: 1,
            proc_start: proc_stat(child.id()).map(|s| s.start),
        };
        std::fs::write(
            entry_path(&dir, entry.pid),
            serde_json::to_vec(&entry).unwrap(),
        )
        .unwrap();
        let mut plan = StopPlan::new(Duration::from_millis(300));
        plan.poll = Duration::from_millis(20);
        let report = stop(&dir, &plan).unwrap();
        let status = child.wait().unwrap();
        assert!(
            matches!(report.processes[0].outcome, Outcome::Killed { .. }),
            "{report:?}"
        );
        assert!(report.all_stopped());
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(list(&dir).unwrap().is_empty());
    }
}
