//! `redis-benchmark` at the same concurrency and payload, parsed from its `--csv` output.

use tokio::process::Command;

use crate::measure::{BoxError, Stats};

/// GET and SET results of one `redis-benchmark -t get,set -P 1` run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GetSet {
    pub(crate) get: Stats,
    pub(crate) set: Stats,
}

/// Runs `redis-benchmark` against `host:port` (`cluster` adds `--cluster`) with `clients`
/// connections, `bytes`-byte values and `requests` requests per test.
pub(crate) async fn run(
    host: &str,
    port: u16,
    cluster: bool,
    clients: usize,
    bytes: usize,
    requests: u64,
) -> Result<GetSet, BoxError> {
    let mut cmd = Command::new("redis-benchmark");
    cmd.args(["-h", host, "-p", &port.to_string()]);
    if cluster {
        cmd.arg("--cluster");
    }
    cmd.args(["-c", &clients.to_string(), "-d", &bytes.to_string()])
        .args([
            "-t",
            "get,set",
            "-P",
            "1",
            "-n",
            &requests.to_string(),
            "--csv",
        ]);
    let out = cmd.output().await?;
    if !out.status.success() {
        return Err(format!(
            "redis-benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// Parses `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
/// "p99_latency_ms","max_latency_ms"` rows.
fn parse(csv: &str) -> Result<GetSet, BoxError> {
    let mut result = GetSet::default();
    let mut seen = 0;
    for line in csv.lines() {
        let f: Vec<&str> = line.split(',').map(|s| s.trim_matches('"')).collect();
        if f.len() < 7 {
            continue;
        }
        let num = |i: usize| f[i].parse::<f64>().unwrap_or(0.0);
        let stats = Stats {
            ops_per_sec: num(1),
            p50_us: num(4) * 1000.0,
            p99_us: num(6) * 1000.0,
            errors: 0,
        };
        match f[0] {
            "GET" => {
                result.get = stats;
                seen += 1;
            }
            "SET" => {
                result.set = stats;
                seen += 1;
            }
            _ => {}
        }
    }
    if seen < 2 {
        return Err(format!("unexpected redis-benchmark output: {csv}").into());
    }
    Ok(result)
}

/// `host` and `port` of a `redis://host:port[/db]` URL.
pub(crate) fn host_port(url: &str) -> (String, u16) {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let rest = rest.rsplit('@').next().unwrap_or(rest);
    let hostport = rest.split('/').next().unwrap_or(rest);
    match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(6379)),
        None => (hostport.to_owned(), 6379),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_and_set_rows_and_server_addresses_are_read() {
        let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\"SET\",\"17937.22\",\"2.207\",\"0.136\",\"0.711\",\"9.935\",\"15.031\",\"17.919\"\n\"GET\",\"23584.91\",\"1.517\",\"0.120\",\"0.847\",\"5.231\",\"8.943\",\"20.687\"\n";
        let r = parse(csv).unwrap();
        assert!((r.get.ops_per_sec - 23584.91).abs() < 1e-6);
        assert!((r.set.p99_us - 15031.0).abs() < 1e-6);
        assert_eq!(
            host_port("redis://127.0.0.1:7101"),
            ("127.0.0.1".to_owned(), 7101)
        );
        assert_eq!(host_port("redis://:pw@h/0"), ("h".to_owned(), 6379));
    }
}
