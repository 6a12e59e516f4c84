//! `listeners`, `advertised.listeners`, `controller.listener.names` and
//! `listener.security.protocol.map`: where the broker listens and what it advertises.

use std::collections::BTreeMap;
use std::fmt;

use super::{ConfigError, Reader};

/// One endpoint of `listeners` / `advertised.listeners`: `NAME://host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// The listener name, upper-cased as Kafka normalises it (`PLAINTEXT`, `CONTROLLER`, …).
    pub name: String,
    /// Empty means all interfaces (bind only; see [`BrokerConfig::advertised_listeners`]).
    /// IPv6 addresses are kept without their brackets.
    pub host: String,
    /// 0 asks the OS for a free port (useful in tests).
    pub port: u16,
}

impl Listener {
    /// Parses `NAME://host:port`, `NAME://[v6addr]:port` or `NAME://:port`.
    pub fn parse(text: &str) -> Result<Listener, String> {
        let bad = || format!("expected NAME://host:port, got \"{text}\"");
        let (name, address) = text.trim().split_once("://").ok_or_else(bad)?;
        let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let (host, port) = if let Some(v6) = address.strip_prefix('[') {
            v6.split_once("]:").ok_or_else(bad)?
        } else {
            address.rsplit_once(':').filter(|(host, _)| !host.contains(':')).ok_or_else(bad)?
        };
        let port = port.parse::<u16>().map_err(|_| bad())?;
        if !name_ok || host.contains(['/', ' ']) {
            return Err(bad());
        }
        Ok(Listener { name: name.to_ascii_uppercase(), host: host.to_string(), port })
    }

    /// The socket address to bind: all interfaces for an empty host.
    pub fn bind_address(&self) -> String {
        let host = if self.host.is_empty() { "0.0.0.0" } else { &self.host };
        if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }

    fn is_wildcard(&self) -> bool {
        matches!(self.host.as_str(), "" | "0.0.0.0" | "::")
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.name, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.name, self.host, self.port)
        }
    }
}

/// `listeners`, `advertised.listeners` (resolved) and `controller.listener.names`.
type ListenerKeys = (Vec<Listener>, Vec<Listener>, Vec<String>);

/// Reads `listeners`, `advertised.listeners` and the two keys that say how to read them.
pub(super) fn read_listeners(r: &mut Reader) -> Result<ListenerKeys, ConfigError> {
    let controller_names: Vec<String> = r
        .take("controller.listener.names")
        .map(|v| split_list(&v).map(str::to_ascii_uppercase).collect())
        .unwrap_or_default();
    let protocols = r.parse("listener.security.protocol.map", parse_protocol_map)?;
    let parse = |key: &str, text: &str| parse_listeners(key, text, protocols.as_ref(), &controller_names);
    let listeners = parse("listeners", &r.take("listeners").unwrap_or_else(|| "PLAINTEXT://127.0.0.1:9092".into()))?;
    let advertised = match r.take("advertised.listeners") {
        Some(text) => parse("advertised.listeners", &text)?,
        None => listeners.clone(),
    };
    let explicit = r.explicit.contains("advertised.listeners");
    for listener in &advertised {
        let problem = if !listeners.iter().any(|l| l.name == listener.name) {
            format!("listener name {} is not in `listeners`", listener.name)
        } else if explicit && (listener.host == "0.0.0.0" || listener.host == "::") {
            format!("`{listener}` advertises a non-routable wildcard address")
        } else {
            continue;
        };
        return Err(ConfigError::invalid("advertised.listeners", problem));
    }
    Ok((listeners, advertised.into_iter().map(advertise).collect(), controller_names))
}

pub(super) fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

const PROTOCOLS: [&str; 4] = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"];

fn parse_protocol_map(text: &str) -> Result<BTreeMap<String, String>, String> {
    split_list(text)
        .map(|entry| match entry.split_once(':') {
            Some((name, protocol)) if PROTOCOLS.contains(&protocol.trim().to_ascii_uppercase().as_str()) => {
                Ok((name.trim().to_ascii_uppercase(), protocol.trim().to_ascii_uppercase()))
            }
            _ => Err(format!("expected NAME:PROTOCOL (PROTOCOL one of {}), got \"{entry}\"", PROTOCOLS.join(", "))),
        })
        .collect()
}

/// Parses a listener list and checks that each one speaks PLAINTEXT: through the protocol map
/// when it is set, else by its name being a protocol, or by being a controller listener
/// (which Kafka maps to PLAINTEXT when no map is given).
fn parse_listeners(
    key: &str,
    text: &str,
    protocols: Option<&BTreeMap<String, String>>,
    controller_names: &[String],
) -> Result<Vec<Listener>, ConfigError> {
    let mut listeners: Vec<Listener> = Vec::new();
    for entry in split_list(text) {
        let listener = Listener::parse(entry).map_err(|m| ConfigError::invalid(key, m))?;
        let protocol = match protocols {
            Some(map) => map.get(&listener.name).cloned(),
            None if controller_names.contains(&listener.name) => Some("PLAINTEXT".to_string()),
            None => PROTOCOLS.contains(&listener.name.as_str()).then(|| listener.name.clone()),
        };
        match protocol.as_deref() {
            Some("PLAINTEXT") => {}
            Some(other) => {
                let m = format!("listener `{entry}` uses security protocol {other}; seedlog supports only PLAINTEXT");
                return Err(ConfigError::invalid(key, m));
            }
            None => {
                let m = format!("listener name {} is not in listener.security.protocol.map", listener.name);
                return Err(ConfigError::invalid(key, m));
            }
        }
        if listeners.iter().any(|l| l.name == listener.name) {
            return Err(ConfigError::invalid(key, format!("listener name {} appears twice", listener.name)));
        }
        if key == "listeners" && listener.port != 0 && listeners.iter().any(|l| l.port == listener.port) {
            return Err(ConfigError::invalid(key, format!("port {} is used by two listeners", listener.port)));
        }
        listeners.push(listener);
    }
    if listeners.is_empty() {
        return Err(ConfigError::invalid(key, "expected at least one listener"));
    }
    Ok(listeners)
}

/// What to advertise for a listener bound to a wildcard: loopback (see `advertised_listeners`).
fn advertise(listener: Listener) -> Listener {
    if listener.is_wildcard() {
        Listener { host: "127.0.0.1".to_string(), ..listener }
    } else {
        listener
    }
}
