//! Loopback ports for servers and proxies a test starts.

use std::net::TcpListener;

/// A loopback port nothing listened on a moment ago: bound, then released.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free loopback port whose Redis Cluster bus port (+10 000) is free too.
pub fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        // The bus port must exist (below 65 536).
        if !(20_000..=55_000).contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}
