//! A private Dovecot IMAP server per test: 127.0.0.1, a free port, its config, users and
//! mail in a temp folder (the verified config of `shared/notes/test-services.md` §6.1), users
//! `alice` and `bob`; stopped by its PID when dropped. Mail goes in and is looked at through
//! a real client, Python's imaplib (`tests/imap_client.py`), never through our code.
//! `tests/install-mail.sh` installs Dovecot; without it [`Dovecot::start`] panics.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The test users and their passwords.
pub const USERS: [(&str, &str); 2] = [("alice", "secret1"), ("bob", "secret2")];

/// One message of a folder, as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub uid: u32,
    pub size: u64,
    pub flags: Vec<String>,
}

/// A running Dovecot; stopped on drop.
pub struct Dovecot {
    dir: tempfile::TempDir,
    port: u16,
    /// The implicit-TLS port, when started with [`Dovecot::start_tls`].
    tls_port: Option<u16>,
    pid: u32,
}

fn dovecot_binary() -> PathBuf {
    let found = Command::new("sh")
        .arg("-c")
        .arg("command -v dovecot || ls /usr/sbin/dovecot")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .trim()
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|path| !path.is_empty());
    match found {
        Some(path) => PathBuf::from(path),
        None => panic!("dovecot is required for the IMAP tests: run tests/install-mail.sh (Debian dovecot-imapd)"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

impl Dovecot {
    /// Starts a fresh server with empty mailboxes; panics with its log when it cannot.
    pub fn start() -> Dovecot {
        Self::start_with(false)
    }

    /// Starts a server that also speaks TLS: STARTTLS on [`port`](Dovecot::port), implicit
    /// TLS on [`tls_port`](Dovecot::tls_port), with a certificate for 127.0.0.1 signed by a
    /// test CA made here with `openssl` ([`ca_file`](Dovecot::ca_file)).
    pub fn start_tls() -> Dovecot {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Dovecot {
        let binary = dovecot_binary();
        let mut last_log = String::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("a temp folder");
            let port = free_port();
            let root = dir.path();
            set_mode(root, 0o755);
            for sub in ["run", "state", "mail"] {
                std::fs::create_dir_all(root.join(sub)).expect("dovecot folders");
            }
            set_mode(&root.join("mail"), 0o777);
            let d = root.display();
            let tls_port = if tls { Some(free_port()) } else { None };
            let ssl = match tls_port {
                Some(_) => {
                    make_certificates(root);
                    format!("ssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n")
                }
                None => "ssl = no\n".to_string(),
            };
            let imaps_port = tls_port.unwrap_or(0);
            let config = format!(
                "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
                 log_path = {d}/dovecot.log\n{ssl}disable_plaintext_auth = no\n\
                 auth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u/Maildir\n\
                 first_valid_uid = 1\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={d}/mail/%u\n}}\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
                 inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n  }}\n}}\n"
            );
            std::fs::write(root.join("dovecot.conf"), config).expect("dovecot.conf");
            let users: String = USERS
                .iter()
                .map(|(user, password)| format!("{user}:{{PLAIN}}{password}\n"))
                .collect();
            std::fs::write(root.join("users"), users).expect("users");
            // The daemon keeps its inherited descriptors: no pipes, or `output()` never ends.
            let started = Command::new(&binary)
                .arg("-c")
                .arg(root.join("dovecot.conf"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("cannot run dovecot");
            // Up once it listens and has written its pid (the daemon does both, in either order).
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut pid = None;
            let mut up = false;
            while Instant::now() < deadline && !(up && pid.is_some()) {
                pid = pid.or_else(|| {
                    std::fs::read_to_string(root.join("run/master.pid"))
                        .ok()
                        .and_then(|text| text.trim().parse::<u32>().ok())
                });
                up = up || TcpStream::connect(("127.0.0.1", port)).is_ok();
                if !(up && pid.is_some()) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            match (up, pid) {
                (true, Some(pid)) => {
                    return Dovecot {
                        dir,
                        port,
                        tls_port,
                        pid,
                    }
                }
                (_, pid) => {
                    if let Some(pid) = pid {
                        stop(pid);
                    }
                    last_log = format!(
                        "dovecot -c exited with {started}, listening: {up}, pid: {pid:?}; its log:\n{}",
                        std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default()
                    );
                }
            }
        }
        panic!("dovecot did not start on 127.0.0.1:\n{last_log}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The implicit-TLS (imaps) port of a server started with [`Dovecot::start_tls`].
    pub fn tls_port(&self) -> u16 {
        self.tls_port
            .expect("a server started with Dovecot::start_tls")
    }

    /// The PEM of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn password(user: &str) -> &'static str {
        USERS
            .iter()
            .find(|(name, _)| *name == user)
            .map(|(_, password)| *password)
            .unwrap_or_else(|| panic!("no test user {user}"))
    }

    /// Dovecot's (Maildir++) name of a folder given with `/` between levels.
    pub fn name(folder: &str) -> String {
        folder.replace('/', ".")
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn client(&self, user: &str, args: &[&str]) -> Vec<u8> {
        let script = crate::root().join("tests").join("imap_client.py");
        let output = Command::new("python3")
            .arg(&script)
            .arg(self.port.to_string())
            .arg(user)
            .arg(Self::password(user))
            .args(args)
            .output()
            .expect("python3 is required for the IMAP tests");
        assert!(
            output.status.success(),
            "imap_client.py {args:?} failed:\n{}\ndovecot log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        output.stdout
    }

    /// APPENDs messages to a folder, in order, in one session; their (UIDVALIDITY, UID).
    pub fn append_all(&self, user: &str, folder: &str, emls: &[Vec<u8>]) -> Vec<(u32, u32)> {
        let spool = tempfile::tempdir_in(self.dir.path()).expect("a temp folder");
        let mut paths = Vec::new();
        for (index, eml) in emls.iter().enumerate() {
            let path = spool.path().join(format!("{index}.eml"));
            let mut file = std::fs::File::create(&path).expect("eml file");
            file.write_all(eml).expect("eml written");
            paths.push(path.display().to_string());
        }
        let name = Self::name(folder);
        let mut args = vec!["append", name.as_str()];
        args.extend(paths.iter().map(String::as_str));
        let output = self.client(user, &args);
        String::from_utf8_lossy(&output)
            .lines()
            .map(|line| {
                let (validity, uid) = line.split_once(' ').expect("UIDVALIDITY UID");
                (
                    validity.parse().expect("uidvalidity"),
                    uid.parse().expect("uid"),
                )
            })
            .collect()
    }

    /// APPENDs one message; its (UIDVALIDITY, UID).
    pub fn append(&self, user: &str, folder: &str, eml: &[u8]) -> (u32, u32) {
        self.append_all(user, folder, &[eml.to_vec()])[0]
    }

    /// The messages of a folder.
    pub fn messages(&self, user: &str, folder: &str) -> Vec<Message> {
        let output = self.client(user, &["list", &Self::name(folder)]);
        String::from_utf8_lossy(&output)
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("a json line");
                Message {
                    uid: value["uid"].as_u64().expect("uid") as u32,
                    size: value["size"].as_u64().unwrap_or_default(),
                    flags: value["flags"]
                        .as_array()
                        .map(|flags| {
                            flags
                                .iter()
                                .filter_map(|f| f.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    /// `BODY.PEEK[]` of one message.
    pub fn body(&self, user: &str, folder: &str, uid: u32) -> Vec<u8> {
        self.client(user, &["fetch", &Self::name(folder), &uid.to_string()])
    }

    pub fn uidvalidity(&self, user: &str, folder: &str) -> u32 {
        let output = self.client(user, &["uidvalidity", &Self::name(folder)]);
        String::from_utf8_lossy(&output)
            .trim()
            .parse()
            .expect("uidvalidity")
    }

    pub fn create(&self, user: &str, folder: &str) {
        self.client(user, &["create", &Self::name(folder)]);
    }

    pub fn delete(&self, user: &str, folder: &str) {
        self.client(user, &["delete", &Self::name(folder)]);
    }

    /// The names of every folder of a user.
    pub fn folders(&self, user: &str) -> Vec<String> {
        let output = self.client(user, &["folders"]);
        String::from_utf8_lossy(&output)
            .lines()
            .filter_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).ok()?;
                value["name"].as_str().map(str::to_string)
            })
            .collect()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        stop(self.pid);
    }
}

/// Stops a Dovecot master by its pid: TERM, then KILL after 3 s.
fn stop(pid: u32) {
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let deadline = Instant::now() + Duration::from_secs(3);
    while proc.exists() && Instant::now() < deadline {
        if std::fs::read_to_string(proc.join("stat")).is_ok_and(|stat| stat.contains(") Z ")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if proc.exists() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
}

/// A test CA and a server certificate for 127.0.0.1 and localhost it signed, by `openssl`.
fn make_certificates(root: &Path) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .current_dir(root)
            .args(args)
            .output()
            .expect("openssl is required for the IMAP TLS tests (tests/install-mail.sh)");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    std::fs::write(
        root.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("server.ext");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Greffier Test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A message with CRLF line ends as a server stores it: LF and lone CR become CRLF.
pub fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 20);
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'\r' if bytes.get(index + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                index += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            byte => out.push(byte),
        }
        index += 1;
    }
    out
}
