//! [`run`] and [`run_files`]: spawning, feeding, capturing, timeout and cleanup.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::capture::{copy_draining, read_capped, Captured, CAPTURE_LIMIT};
use crate::error::{stderr_tail, HookError};
use crate::group::GroupKiller;
use crate::spec::CommandSpec;

/// What a successful run produced.
#[derive(Debug, Clone)]
pub struct HookOutput {
    /// Contents of `{output}` if the template used it and the file exists. `None` when the
    /// template has no `{output}` (the result is then `stdout`) and always for [`run_files`]
    /// (the result is left at the caller's path).
    pub output: Option<Vec<u8>>,
    /// The child's stdout, at most [`CAPTURE_LIMIT`] bytes (the rest is read and dropped).
    pub stdout: Vec<u8>,
    /// The child's stderr, at most [`CAPTURE_LIMIT`] bytes.
    pub stderr: Vec<u8>,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

/// Runs `spec` on `input` held in memory.
///
/// With `{input}` in the template, `input` is written to a temp file (named
/// `input<input_suffix>`); otherwise it is fed to the child's stdin. With `{output}`, the
/// child is given a temp path (`output<output_suffix>`, not created beforehand) and its
/// contents are returned in [`HookOutput::output`]; otherwise the result is
/// [`HookOutput::stdout`], capped at [`CAPTURE_LIMIT`].
pub async fn run(spec: &CommandSpec, input: &[u8]) -> Result<HookOutput, HookError> {
    spec.validate()?;
    let dir = temp_dir()?;
    let input_path = dir.path().join(format!("input{}", spec.input_suffix));
    let output_path = dir.path().join(format!("output{}", spec.output_suffix));

    let stdin = if spec.uses_input() {
        tokio::fs::write(&input_path, input)
            .await
            .map_err(|e| HookError::io("could not write the input temp file", e))?;
        StdinSource::Null
    } else {
        StdinSource::Bytes(input)
    };

    let done = execute(
        spec,
        dir.path(),
        &input_path,
        &output_path,
        stdin,
        StdoutSink::Capture,
    )
    .await?;

    let output = if spec.uses_output() {
        match tokio::fs::read(&output_path).await {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(HookError::OutputMissing {
                    program: spec.program.clone(),
                    path: output_path,
                });
            }
            Err(e) => return Err(HookError::io("could not read the output temp file", e)),
        }
    } else {
        None
    };
    close_dir(dir);
    Ok(HookOutput {
        output,
        stdout: done.stdout,
        stderr: done.stderr,
        elapsed: done.elapsed,
    })
}

/// Same as [`run`], but input and output are files the caller owns (large inputs, no copy in
/// memory); returns stdout/stderr, output left at `output`.
///
/// Without `{input}` in the template, the input file is streamed to stdin; without
/// `{output}`, stdout is streamed into `output` (created or truncated, no size cap) and
/// [`HookOutput::stdout`] is empty. Relative paths are made absolute first, because the child
/// runs in a temp working directory. With `{output}`, the file must exist after the run; a
/// file left there by an earlier run would hide a tool that wrote nothing, so callers should
/// pass a fresh path.
pub async fn run_files(
    spec: &CommandSpec,
    input: &Path,
    output: &Path,
) -> Result<HookOutput, HookError> {
    spec.validate()?;
    let input = std::path::absolute(input)
        .map_err(|e| HookError::io("could not resolve the input path", e))?;
    let output = std::path::absolute(output)
        .map_err(|e| HookError::io("could not resolve the output path", e))?;
    let dir = temp_dir()?;

    let stdin = if spec.uses_input() {
        tokio::fs::metadata(&input).await.map_err(|e| {
            HookError::io(format!("cannot use the input file {}", input.display()), e)
        })?;
        StdinSource::Null
    } else {
        let file = tokio::fs::File::open(&input).await.map_err(|e| {
            HookError::io(format!("cannot open the input file {}", input.display()), e)
        })?;
        StdinSource::File(file)
    };
    let stdout = if spec.uses_output() {
        StdoutSink::Capture
    } else {
        let file = tokio::fs::File::create(&output).await.map_err(|e| {
            HookError::io(
                format!("cannot create the output file {}", output.display()),
                e,
            )
        })?;
        StdoutSink::File(file)
    };

    let done = execute(spec, dir.path(), &input, &output, stdin, stdout).await?;

    if spec.uses_output() {
        match tokio::fs::metadata(&output).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(HookError::OutputMissing {
                    program: spec.program.clone(),
                    path: output,
                });
            }
            Err(e) => {
                return Err(HookError::io(
                    format!("cannot check the output file {}", output.display()),
                    e,
                ))
            }
        }
    }
    close_dir(dir);
    Ok(HookOutput {
        output: None,
        stdout: done.stdout,
        stderr: done.stderr,
        elapsed: done.elapsed,
    })
}

enum StdinSource<'a> {
    Null,
    Bytes(&'a [u8]),
    File(tokio::fs::File),
}

enum StdoutSink {
    Capture,
    File(tokio::fs::File),
}

/// A run that exited with 0.
struct Finished {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
}

fn temp_dir() -> Result<tempfile::TempDir, HookError> {
    tempfile::Builder::new()
        .prefix("ocr-hooks-")
        .tempdir()
        .map_err(|e| HookError::io("could not create the temp directory", e))
}

/// Removes the temp dir now, to log a failure (dropping a `TempDir` ignores it). Error paths
/// simply drop it.
fn close_dir(dir: tempfile::TempDir) {
    let path = dir.path().to_owned();
    if let Err(e) = dir.close() {
        tracing::warn!(path = %path.display(), error = %e, "could not remove hook temp directory");
    }
}

/// A relative program path with a slash (`./bin/tool`) is resolved against our working
/// directory, not the child's temp one. Bare names are looked up in `PATH` as usual.
fn resolve_program(program: &str) -> Result<PathBuf, HookError> {
    let path = Path::new(program);
    if program.contains('/') && path.is_relative() {
        std::path::absolute(path)
            .map_err(|e| HookError::io("could not resolve the program path", e))
    } else {
        Ok(path.to_owned())
    }
}

async fn execute(
    spec: &CommandSpec,
    workdir: &Path,
    input: &Path,
    output: &Path,
    stdin: StdinSource<'_>,
    stdout: StdoutSink,
) -> Result<Finished, HookError> {
    let args = spec.render_args(input, output);
    let mut cmd = Command::new(resolve_program(&spec.program)?);
    cmd.args(&args)
        .current_dir(workdir)
        // Tools that make their own temp files (ghostscript, ocrmypdf) put them in our dir,
        // which is removed even if they are killed.
        .env("TMPDIR", workdir)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if matches!(stdin, StdinSource::Null) {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);

    tracing::debug!(program = %spec.program, ?args, timeout_ms = spec.timeout.as_millis() as u64, "starting hook");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| HookError::from_spawn(&spec.program, e))?;
    // Declared after `child`: dropped before it, so the group is killed before the leader
    // is reaped (also when this future is dropped mid-run).
    let group = GroupKiller::new(child.id());

    let child_stdin = child.stdin.take();
    let child_stdout = child.stdout.take().expect("stdout is piped");
    let child_stderr = child.stderr.take().expect("stderr is piped");

    let feed = async move {
        let Some(mut pipe) = child_stdin else {
            return Ok(());
        };
        let result = match stdin {
            StdinSource::Null => Ok(()),
            StdinSource::Bytes(bytes) => pipe.write_all(bytes).await,
            StdinSource::File(mut file) => tokio::io::copy(&mut file, &mut pipe).await.map(drop),
        };
        drop(pipe); // EOF for the child
        match result {
            // The child closed stdin without reading everything; its exit code decides.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    };
    let collect_stdout = async move {
        match stdout {
            StdoutSink::Capture => Ok(read_capped(child_stdout, CAPTURE_LIMIT).await),
            StdoutSink::File(file) => {
                copy_draining(child_stdout, file)
                    .await
                    .map(|total| Captured {
                        kept: Vec::new(),
                        total,
                    })
            }
        }
    };
    let collect_stderr = read_capped(child_stderr, CAPTURE_LIMIT);
    let wait = async {
        let status = child.wait().await;
        // Leftovers (background grandchildren) must not outlive the call, and they may hold
        // our pipes open: kill them so the readers see EOF.
        group.kill();
        status
    };

    let joined = tokio::time::timeout(spec.timeout, async {
        tokio::join!(wait, feed, collect_stdout, collect_stderr)
    })
    .await;
    let (status, fed, stdout, stderr) = match joined {
        Ok(all) => all,
        Err(_) => {
            group.kill();
            // SIGKILL the leader too (already done by the group kill) and reap it.
            let _ = child.kill().await;
            tracing::warn!(
                program = %spec.program,
                timeout_ms = spec.timeout.as_millis() as u64,
                "hook timed out, process group killed"
            );
            return Err(HookError::Timeout {
                program: spec.program.clone(),
                timeout: spec.timeout,
            });
        }
    };
    let elapsed = started.elapsed();
    let status = status.map_err(|e| HookError::io("could not wait for the hook process", e))?;

    tracing::debug!(
        program = %spec.program,
        elapsed_ms = elapsed.as_millis() as u64,
        status = %status,
        stdout_bytes = stdout.as_ref().map(|c| c.total).unwrap_or(0),
        stderr_bytes = stderr.total,
        "hook finished"
    );
    check_status(spec, status, &stderr.kept)?;
    fed.map_err(|e| HookError::io("could not feed the input to the hook", e))?;
    let stdout = stdout.map_err(|e| {
        HookError::io(
            format!("could not write the output file {}", output.display()),
            e,
        )
    })?;
    for (name, captured) in [("stdout", &stdout), ("stderr", &stderr)] {
        if captured.truncated() {
            tracing::warn!(
                program = %spec.program,
                stream = name,
                total_bytes = captured.total,
                kept_bytes = captured.kept.len() as u64,
                "hook output truncated"
            );
        }
    }
    Ok(Finished {
        stdout: stdout.kept,
        stderr: stderr.kept,
        elapsed,
    })
}

fn check_status(spec: &CommandSpec, status: ExitStatus, stderr: &[u8]) -> Result<(), HookError> {
    if status.success() {
        return Ok(());
    }
    let program = spec.program.clone();
    let stderr = stderr_tail(stderr);
    match (status.code(), status.signal()) {
        (Some(code), _) if spec.transient_exit_codes.contains(&code) => {
            Err(HookError::TransientExit {
                program,
                code,
                stderr,
            })
        }
        (Some(code), _) => Err(HookError::Exit {
            program,
            code,
            stderr,
        }),
        (None, Some(signal)) => Err(HookError::Signal {
            program,
            signal,
            stderr,
        }),
        (None, None) => Err(HookError::Exit {
            program,
            code: -1,
            stderr,
        }),
    }
}
