//! Apache Kafka as the oracle and the peer, for tests and benches: its jars (pinned by
//! `scripts/install-kafka.sh` into `.kafka/lib`), its main classes run with `java -cp` (Kafka's
//! shell scripts are not on Maven Central), the project's Java test programs (`tests/java/`)
//! compiled with javac once per test process, and [`KafkaNode`]: a real Apache Kafka broker
//! in KRaft combined mode on free loopback ports, in a temporary directory, killed on drop.
//!
//! Nothing here skips: a missing java, javac or mvn fails the test that asked, with the
//! install script's message.
#![allow(clippy::disallowed_methods, clippy::disallowed_types, dead_code)] // test scaffolding

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::process::{run, tail};
use super::{free_port, scratch_dir};

/// How long an Apache Kafka node gets from launch to "Kafka Server started".
const NODE_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// JVM flags for short tool and client runs: a small heap, the serial collector and the
/// client compiler start fastest, and these runs are too short for C2 to pay off.
const SHORT_RUN_JVM_FLAGS: &[&str] = &["-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss1m"];

/// kafka-run-class.sh's `KAFKA_JVM_PERFORMANCE_OPTS` (Kafka 4.1): what every Kafka script
/// runs its JVM with when nothing overrides it.
const SCRIPT_PERFORMANCE_JVM_FLAGS: &[&str] = &[
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
];

/// The JVM a Kafka node runs in.
#[derive(Clone, Copy)]
pub enum BrokerJvm {
    /// For tests: a heap that starts small (256 MiB, at most 1 GiB), G1.
    Test,
    /// What `kafka-server-start.sh` gives a broker: `KAFKA_HEAP_OPTS="-Xmx1G -Xms1G"` and
    /// kafka-run-class.sh's performance flags (G1, 20 ms pause goal). For benchmarks.
    Script,
}

impl BrokerJvm {
    pub fn flags(self) -> Vec<&'static str> {
        match self {
            BrokerJvm::Test => vec!["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true"],
            BrokerJvm::Script => [&["-Xmx1G", "-Xms1G"][..], SCRIPT_PERFORMANCE_JVM_FLAGS].concat(),
        }
    }

    /// The heap setting, for reports.
    pub fn heap(self) -> &'static str {
        match self {
            BrokerJvm::Test => "-Xms256m -Xmx1g",
            BrokerJvm::Script => "-Xmx1G -Xms1G",
        }
    }
}

/// The installed Apache Kafka: where its jars are and which version they are.
pub struct Kafka {
    /// `.kafka/lib`: every jar of the pinned set.
    pub lib: PathBuf,
    /// The log4j2 config for tools and clients: WARN and above, to stderr.
    pub log4j_config: PathBuf,
    /// The pinned version, as the install script's stamp names it ("4.1.2").
    pub version: String,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/install-kafka.sh` once per test process (a no-op when the pinned set is
/// there) and returns the installation; panics with the script's output when it fails.
pub fn kafka() -> &'static Kafka {
    static INSTALLED: OnceLock<Result<Kafka, String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let root = repo_root();
        let output = Command::new("bash")
            .arg("scripts/install-kafka.sh")
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run scripts/install-kafka.sh: {e}"))?;
        let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            return Err(format!("scripts/install-kafka.sh failed ({}):\n{said}", output.status));
        }
        eprint!("{said}");
        let lib = root.join(".kafka/lib");
        let stamp = fs::read_to_string(lib.join(".seedlog-kafka-ok"))
            .map_err(|e| format!("scripts/install-kafka.sh succeeded but left no stamp in {}: {e}", lib.display()))?;
        // The stamp's second line: "kafka 4.1.2 log4j 2.25.3".
        let version = stamp
            .lines()
            .nth(1)
            .and_then(|line| line.split_whitespace().nth(1))
            .ok_or_else(|| format!("unreadable stamp {}:\n{stamp}", lib.join(".seedlog-kafka-ok").display()))?
            .to_string();
        Ok(Kafka { lib, log4j_config: root.join(".kafka/log4j2.yaml"), version })
    });
    match installed {
        Ok(kafka) => kafka,
        Err(message) => panic!("{message}"),
    }
}

impl Kafka {
    /// The classpath of every Kafka jar (java expands the `*`).
    pub fn classpath(&self) -> String {
        format!("{}/*", self.lib.display())
    }

    /// `java -cp .kafka/lib/* <main_class>` with the quiet log4j config and the short-run flags;
    /// add the tool's arguments.
    pub fn java(&self, main_class: &str) -> Command {
        self.java_with_classpath(&self.classpath(), main_class, SHORT_RUN_JVM_FLAGS)
    }

    /// Like [`Kafka::java`], with the JVM a Kafka script gives a tool that runs for a while
    /// (`heap`, as the script's `KAFKA_HEAP_OPTS`, plus kafka-run-class.sh's performance
    /// flags, C2 included): for benchmark clients such as ProducerPerformance
    /// (kafka-producer-perf-test.sh sets `-Xmx512M`).
    pub fn java_long_run(&self, main_class: &str, heap: &[&str]) -> Command {
        let flags = [heap, SCRIPT_PERFORMANCE_JVM_FLAGS].concat();
        self.java_with_classpath(&self.classpath(), main_class, &flags)
    }

    /// Like [`Kafka::java`], with the project's compiled Java test programs on the classpath too.
    pub fn java_test_program(&self, main_class: &str) -> Command {
        let classpath = format!("{}:{}", self.compiled_java_tests().display(), self.classpath());
        self.java_with_classpath(&classpath, main_class, SHORT_RUN_JVM_FLAGS)
    }

    fn java_with_classpath(&self, classpath: &str, main_class: &str, jvm_flags: &[&str]) -> Command {
        let mut command = Command::new("java");
        command
            .args(jvm_flags)
            .arg(format!("-Dlog4j2.configurationFile={}", self.log4j_config.display()))
            .args(["-cp", classpath, main_class])
            .current_dir(repo_root());
        command
    }

    /// Compiles every `tests/java/*.java` against kafka-clients into a folder of the target
    /// dir named after a hash of the sources and the Kafka version, and returns that folder.
    /// Compiled at most once per test process, and not at all when an earlier run compiled
    /// the same sources against the same Kafka.
    pub fn compiled_java_tests(&self) -> &'static Path {
        static COMPILED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let compiled = COMPILED.get_or_init(|| {
            let mut sources: Vec<PathBuf> = fs::read_dir(repo_root().join("tests/java"))
                .map_err(|e| format!("read tests/java: {e}"))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "java"))
                .collect();
            sources.sort();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.version.hash(&mut hasher);
            for source in &sources {
                source.file_name().hash(&mut hasher);
                fs::read(source).map_err(|e| format!("read {}: {e}", source.display()))?.hash(&mut hasher);
            }
            let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("java-tests");
            let done = base.join(format!("{:016x}", hasher.finish()));
            // The stamp is written last: a folder without it is an interrupted compile.
            if done.join(".compiled").exists() {
                return Ok(done);
            }
            // Compile into a folder of this process, then move it in place: two test
            // processes at once never see each other's half-written classes.
            let building = base.join(format!("building.{}", std::process::id()));
            let _ = fs::remove_dir_all(&building);
            fs::create_dir_all(&building).map_err(|e| format!("create {}: {e}", building.display()))?;
            let mut javac = Command::new("javac");
            javac
                .args(["-encoding", "UTF-8", "-Xlint:none", "-cp", &self.classpath(), "-d"])
                .arg(&building)
                .args(&sources);
            let run = run(&mut javac, None, Duration::from_secs(120));
            if !run.success() {
                return Err(format!("javac of tests/java failed:\n{}", run.report()));
            }
            fs::write(building.join(".compiled"), &run.command).map_err(|e| e.to_string())?;
            let _ = fs::remove_dir_all(&done);
            match fs::rename(&building, &done) {
                Ok(()) => Ok(done),
                // Another process moved its copy in first: ours is complete too, keep it.
                Err(_) => Ok(building),
            }
        });
        match compiled {
            Ok(path) => path,
            Err(message) => panic!("{message}"),
        }
    }
}

/// A real Apache Kafka node: KRaft combined mode (broker and controller), storage formatted
/// before start, both listeners on free loopback ports, everything in its own directory.
/// [`KafkaNode::start`] makes node id 1, its own single-voter quorum, in a temporary
/// directory; [`KafkaNode::start_cluster`] makes nodes 1..=n whose controllers form one
/// quorum. SIGKILLed and its directory removed on drop (the directory is kept when the
/// thread panicked, for a look).
pub struct KafkaNode {
    child: Child,
    pub node_id: i32,
    /// The broker (PLAINTEXT) listener.
    pub port: u16,
    pub controller_port: u16,
    /// The node's directory: server.properties, log4j2.yaml, kafka.out and `data/`.
    pub dir: PathBuf,
    pub cluster_id: String,
}

impl KafkaNode {
    /// The node id of a node made by [`KafkaNode::start`].
    pub const NODE_ID: i32 = 1;

    /// Formats and starts a node, and waits until it reports "Kafka Server started".
    pub fn start(name: &str) -> KafkaNode {
        KafkaNode::start_with(name, &[])
    }

    /// Like [`KafkaNode::start`], with `key=value` lines added to (or overriding) the
    /// generated server.properties.
    pub fn start_with(name: &str, overrides: &[&str]) -> KafkaNode {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let dir = scratch_dir(&format!("kafka-node-{name}-{}", STARTED.fetch_add(1, Ordering::Relaxed)));
        let mut nodes = KafkaNode::launch(&[dir], BrokerJvm::Test, overrides);
        nodes.pop().expect("one node")
    }

    /// `count` nodes in `parent/node-<id>`, ids 1..=count, each broker and controller; the
    /// controllers are the quorum's voters. All are formatted with one cluster id and started
    /// before any is waited for (a node's broker waits for the quorum); returns when every
    /// node reported "Kafka Server started".
    pub fn start_cluster(parent: &Path, count: usize, jvm: BrokerJvm, overrides: &[&str]) -> Vec<KafkaNode> {
        let dirs: Vec<PathBuf> = (1..=count).map(|id| parent.join(format!("node-{id}"))).collect();
        KafkaNode::launch(&dirs, jvm, overrides)
    }

    /// The process id of the node's JVM.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn launch(dirs: &[PathBuf], jvm: BrokerJvm, overrides: &[&str]) -> Vec<KafkaNode> {
        let kafka = kafka();
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 2 * dirs.len() {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let voters: Vec<String> =
            (0..dirs.len()).map(|i| format!("{}@127.0.0.1:{}", i + 1, ports[2 * i + 1])).collect();
        let voters = voters.join(",");
        let replication = dirs.len().min(3);
        let cluster_id = cluster_id();
        let mut nodes = Vec::new();
        for (i, dir) in dirs.iter().enumerate() {
            let (port, controller_port) = (ports[2 * i], ports[2 * i + 1]);
            let _ = fs::remove_dir_all(dir);
            fs::create_dir_all(dir).unwrap();
            let data = dir.join("data");
            let mut properties = format!(
                "process.roles=broker,controller\n\
                 node.id={id}\n\
                 controller.quorum.voters={voters}\n\
                 listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
                 advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
                 controller.listener.names=CONTROLLER\n\
                 inter.broker.listener.name=PLAINTEXT\n\
                 listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
                 log.dirs={data}\n\
                 num.partitions=1\n\
                 offsets.topic.replication.factor={replication}\n\
                 transaction.state.log.replication.factor={replication}\n\
                 transaction.state.log.min.isr=1\n\
                 share.coordinator.state.topic.replication.factor={replication}\n\
                 share.coordinator.state.topic.min.isr=1\n\
                 group.initial.rebalance.delay.ms=0\n",
                id = i + 1,
                data = data.display(),
            );
            for line in overrides {
                properties.push_str(line);
                properties.push('\n');
            }
            let config = dir.join("server.properties");
            fs::write(&config, properties).unwrap();
            // WARN and above, plus the one INFO line that says the node is up.
            let log4j = dir.join("log4j2.yaml");
            fs::write(
                &log4j,
                "Configuration:\n  Appenders:\n    Console:\n      name: STDOUT\n      PatternLayout:\n        \
                 pattern: \"[%d] %p %m (%c)%n\"\n  Loggers:\n    Root:\n      level: WARN\n      AppenderRef:\n        \
                 - ref: STDOUT\n    Logger:\n      - name: kafka.server.KafkaRaftServer\n        level: INFO\n",
            )
            .unwrap();

            let mut format = kafka.java("kafka.tools.StorageTool");
            format.args(["format", "--cluster-id", &cluster_id, "--config"]).arg(&config);
            let formatted = run(&mut format, None, Duration::from_secs(60));
            assert!(formatted.success(), "formatting the Apache Kafka node's storage failed:\n{}", formatted.report());

            let output_file = dir.join("kafka.out");
            let output = fs::File::create(&output_file).unwrap();
            let child = Command::new("java")
                .args(jvm.flags())
                .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
                .args(["-cp", &kafka.classpath(), "kafka.Kafka"])
                .arg(&config)
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(output.try_clone().unwrap())
                .stderr(output)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn java kafka.Kafka: {e}"));
            let node_id = i as i32 + 1;
            nodes.push(KafkaNode {
                child,
                node_id,
                port,
                controller_port,
                dir: dir.clone(),
                cluster_id: cluster_id.clone(),
            });
        }
        for node in &mut nodes {
            node.wait_started();
        }
        nodes
    }

    fn wait_started(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the Apache Kafka node exited ({status}) while starting\n{}", self.log_tail());
            }
            if self.output().contains("Kafka Server started") {
                return;
            }
            assert!(
                started.elapsed() < NODE_READY_TIMEOUT,
                "the Apache Kafka node did not start within {NODE_READY_TIMEOUT:?}\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The node's log dir (`log.dirs`): one folder per partition, as seedlog's.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Everything the node printed (WARN and above).
    pub fn output(&self) -> String {
        fs::read_to_string(self.dir.join("kafka.out")).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        format!(
            "--- Apache Kafka node output (tail of {}) ---\n{}",
            self.dir.join("kafka.out").display(),
            tail(&self.output(), 6_000)
        )
    }

    /// SIGKILL and reap: its files stay as they are (what it wrote is in the page cache), and
    /// nothing writes to them any more (a live node appends to its metadata log every 500 ms).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Is it still running? Err with its exit status and output if not.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the Apache Kafka node exited ({status})\n{}", self.log_tail())),
            Err(e) => Err(format!("try_wait on the Apache Kafka node: {e}")),
        }
    }
}

impl Drop for KafkaNode {
    fn drop(&mut self) {
        self.kill();
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A cluster id as Kafka writes them: 16 bytes, URL-safe base64 without padding (22
/// characters). Unique enough for a test: the process id and the clock.
fn cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let value = (u128::from(std::process::id()) << 64) | u128::from(nanos);
    let bytes = value.to_be_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        let sextets = [n >> 18, n >> 12, n >> 6, n].map(|s| ALPHABET[(s & 63) as usize] as char);
        out.extend(&sextets[..chunk.len() + 1]);
    }
    out
}
