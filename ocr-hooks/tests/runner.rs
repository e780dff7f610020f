//! Runs real processes (/bin/sh, cat, sleep, tr, cp, head, true).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ocr_hooks::{run, run_files, CommandSpec, HookError, CAPTURE_LIMIT};

fn sh(script: &str, extra: &[&str]) -> CommandSpec {
    let mut args = vec!["-c".to_string(), script.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    CommandSpec::new("/bin/sh", args)
}

/// Alive = /proc entry exists and is not a zombie (a killed grandchild is reparented and may
/// stay a zombie until its new parent reaps it).
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
    }
}

async fn assert_all_dead(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|&p| is_alive(p)).collect();
        if alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "processes still alive: {alive:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads the pid file (one pid a line) and the recorded working directory.
fn read_record(dir: &Path) -> (Vec<u32>, PathBuf) {
    let pids = std::fs::read_to_string(dir.join("pids")).unwrap();
    let pids: Vec<u32> = pids.lines().map(|l| l.trim().parse().unwrap()).collect();
    let cwd = std::fs::read_to_string(dir.join("cwd")).unwrap();
    (pids, PathBuf::from(cwd.trim()))
}

/// Two background sleeps plus the shell itself, all recorded, then waits: the shell's
/// children are grandchildren of the runner.
const SLEEPERS: &str = r#"pwd > "$0/cwd"; sleep 30 & echo $! > "$0/pids"; sleep 30 & echo $! >> "$0/pids"; echo $$ >> "$0/pids"; wait"#;

#[tokio::test]
async fn stdin_to_stdout() {
    let out = run(&CommandSpec::new("tr", ["a-z", "A-Z"]), b"hello greffier\n")
        .await
        .unwrap();
    assert_eq!(out.stdout, b"HELLO GREFFIER\n");
    assert_eq!(out.output, None);
    assert!(out.stderr.is_empty());
    assert!(out.elapsed < Duration::from_secs(10));
}

#[tokio::test]
async fn input_and_output_files() {
    let spec = CommandSpec::new("cp", ["{input}", "{output}"]);
    let out = run(&spec, b"%PDF-1.7 fake").await.unwrap();
    assert_eq!(out.output.as_deref(), Some(&b"%PDF-1.7 fake"[..]));
    assert!(out.stdout.is_empty());

    // Suffixes end up in the file names; input is not on stdin when {input} is used.
    let spec = sh(
        r#"case "$0|$1" in *.pdf\|*.txt) cat "$0" > "$1"; cat ;; *) exit 9 ;; esac"#,
        &["{input}", "{output}"],
    )
    .with_suffixes(".pdf", ".txt");
    let out = run(&spec, b"abc").await.unwrap();
    assert_eq!(out.output.as_deref(), Some(&b"abc"[..]));
    assert!(
        out.stdout.is_empty(),
        "stdin must be empty when {{input}} is used"
    );
}

#[tokio::test]
async fn non_zero_exit_is_permanent_with_stderr() {
    let err = run(&sh("echo 'cannot read page 3' >&2; exit 3", &[]), b"")
        .await
        .unwrap_err();
    assert!(matches!(err, HookError::Exit { code: 3, .. }), "{err:?}");
    assert!(!err.is_transient());
    let msg = err.to_string();
    assert!(
        msg.contains("code 3") && msg.contains("cannot read page 3"),
        "{msg}"
    );
    assert!(!msg.ends_with('.'));

    let err = run(&CommandSpec::new("false", Vec::<String>::new()), b"")
        .await
        .unwrap_err();
    assert!(matches!(err, HookError::Exit { code: 1, .. }), "{err:?}");
}

#[tokio::test]
async fn long_stderr_is_cut_to_its_tail() {
    let err = run(
        &sh(
            "head -c 5000 /dev/zero | tr '\\0' x >&2; echo ' the end' >&2; exit 2",
            &[],
        ),
        b"",
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.ends_with("the end"), "{msg}");
    assert!(msg.len() < 600, "{}", msg.len());
}

#[tokio::test]
async fn configured_transient_code_is_transient() {
    let spec = sh("echo 'licence server busy' >&2; exit 75", &[]).with_transient_exit_codes([75]);
    let err = run(&spec, b"").await.unwrap_err();
    assert!(
        matches!(err, HookError::TransientExit { code: 75, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("licence server busy"));

    let err = run(&sh("exit 76", &[]).with_transient_exit_codes([75]), b"")
        .await
        .unwrap_err();
    assert!(!err.is_transient());
}

#[tokio::test]
async fn killed_by_signal_is_transient() {
    let err = run(&sh("kill -9 $$", &[]), b"").await.unwrap_err();
    assert!(
        matches!(err, HookError::Signal { signal: 9, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn missing_or_unexecutable_program_is_permanent() {
    let err = run(
        &CommandSpec::new("greffier-no-such-program-xyz", ["{input}"]),
        b"x",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HookError::ProgramNotFound { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(
        err.to_string(),
        "program `greffier-no-such-program-xyz` not found"
    );

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let err = run(
        &CommandSpec::new(script.to_str().unwrap(), Vec::<String>::new()),
        b"",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HookError::NotExecutable { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn output_missing_is_permanent() {
    let err = run(&CommandSpec::new("true", ["{output}"]), b"")
        .await
        .unwrap_err();
    assert!(matches!(err, HookError::OutputMissing { .. }), "{err:?}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn bad_template_is_rejected_before_running() {
    let err = run(&CommandSpec::new("", ["x"]), b"").await.unwrap_err();
    assert!(matches!(err, HookError::BadTemplate(_)));
    assert!(!err.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_child_and_its_group() {
    // The plain case from the brief first.
    let started = Instant::now();
    let spec = sh("sleep 30", &[]).with_timeout(Duration::from_millis(300));
    let err = run(&spec, b"").await.unwrap_err();
    assert!(matches!(err, HookError::Timeout { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Shell + two grandchildren, all recorded.
    let rec = tempfile::tempdir().unwrap();
    let spec =
        sh(SLEEPERS, &[rec.path().to_str().unwrap()]).with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = run(&spec, b"").await.unwrap_err();
    assert!(matches!(err, HookError::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (pids, cwd) = read_record(rec.path());
    assert_eq!(pids.len(), 3);
    assert_all_dead(&pids).await;
    assert!(!cwd.exists(), "temp dir {} left behind", cwd.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_kills_the_child_and_its_group() {
    let rec = tempfile::tempdir().unwrap();
    let spec = sh(SLEEPERS, &[rec.path().to_str().unwrap()]).with_timeout(Duration::from_secs(60));
    let fut = run(&spec, b"");
    // Give the shell time to record the pids, then drop the future.
    assert!(tokio::time::timeout(Duration::from_millis(700), fut)
        .await
        .is_err());
    let (pids, cwd) = read_record(rec.path());
    assert_eq!(pids.len(), 3);
    assert_all_dead(&pids).await;
    assert!(!cwd.exists(), "temp dir {} left behind", cwd.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_leftovers_are_killed_and_do_not_hold_the_pipes() {
    let rec = tempfile::tempdir().unwrap();
    // The background sleep inherits stdout: without the group kill, reading stdout would
    // wait for it (i.e. until the timeout).
    let spec = sh(
        r#"pwd > "$0/cwd"; sleep 30 & echo $! > "$0/pids"; echo done"#,
        &[rec.path().to_str().unwrap()],
    )
    .with_timeout(Duration::from_secs(20));
    let started = Instant::now();
    let out = run(&spec, b"").await.unwrap();
    assert_eq!(out.stdout, b"done\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (pids, cwd) = read_record(rec.path());
    assert_all_dead(&pids).await;
    assert!(!cwd.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_output_does_not_deadlock_and_is_capped() {
    let spec = sh(
        "head -c 10000000 /dev/zero; head -c 10000000 /dev/zero >&2",
        &[],
    )
    .with_timeout(Duration::from_secs(30));
    let out = run(&spec, b"").await.unwrap();
    assert_eq!(out.stdout.len(), CAPTURE_LIMIT);
    assert_eq!(out.stderr.len(), CAPTURE_LIMIT);

    // Large stdin while the child writes large stdout: feeding and reading must overlap.
    let input = vec![b'a'; 10_000_000];
    let out = run(
        &CommandSpec::new("cat", Vec::<String>::new()).with_timeout(Duration::from_secs(30)),
        &input,
    )
    .await
    .unwrap();
    assert_eq!(out.stdout.len(), CAPTURE_LIMIT);
    assert!(out.stdout.iter().all(|&b| b == b'a'));

    // A child that exits without reading its stdin is judged by its exit code only.
    let out = run(&sh("echo ignored", &[]), &input).await.unwrap();
    assert_eq!(out.stdout, b"ignored\n");
}

#[tokio::test]
async fn temp_dir_is_removed() {
    // Success, with files written into it.
    let out = run(
        &sh(
            r#"pwd; cp "$0" "$1"; touch side-file"#,
            &["{input}", "{output}"],
        ),
        b"x",
    )
    .await
    .unwrap();
    let cwd = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(cwd
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("ocr-hooks-"));
    assert!(!cwd.exists(), "{} left behind", cwd.display());

    // Failure.
    let rec = tempfile::tempdir().unwrap();
    let err = run(
        &sh(
            r#"pwd > "$1/cwd"; touch "$0"; exit 4"#,
            &["{input}", rec.path().to_str().unwrap()],
        ),
        b"x",
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HookError::Exit { code: 4, .. }));
    let cwd = std::fs::read_to_string(rec.path().join("cwd")).unwrap();
    assert!(!Path::new(cwd.trim()).exists());
}

#[tokio::test]
async fn run_files_uses_the_callers_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, b"scan me").unwrap();

    // Placeholders: output left at the caller's path.
    let output = dir.path().join("copy.txt");
    let out = run_files(
        &CommandSpec::new("cp", ["{input}", "{output}"]),
        &input,
        &output,
    )
    .await
    .unwrap();
    assert_eq!(out.output, None);
    assert_eq!(std::fs::read(&output).unwrap(), b"scan me");

    // No placeholders: input streamed to stdin, stdout streamed into the output file.
    let output = dir.path().join("upper.txt");
    let out = run_files(&CommandSpec::new("tr", ["a-z", "A-Z"]), &input, &output)
        .await
        .unwrap();
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&output).unwrap(), b"SCAN ME");

    // Missing input is a permanent error before anything runs.
    let err = run_files(
        &CommandSpec::new("cp", ["{input}", "{output}"]),
        &dir.path().join("nope"),
        &output,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HookError::Io { .. }), "{err:?}");
    assert!(!err.is_transient());

    // Nothing written at {output}.
    let err = run_files(
        &CommandSpec::new("true", ["{input}", "{output}"]),
        &input,
        &dir.path().join("never.txt"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, HookError::OutputMissing { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_files_output_from_stdout_is_not_capped() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    std::fs::write(&input, vec![1u8; 3 * CAPTURE_LIMIT]).unwrap();
    let output = dir.path().join("out.bin");
    run_files(
        &CommandSpec::new("cat", Vec::<String>::new()),
        &input,
        &output,
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::metadata(&output).unwrap().len(),
        3 * CAPTURE_LIMIT as u64
    );
}
