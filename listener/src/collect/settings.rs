//! What `tributary collect` needs besides the output settings it shares
//! with `tributary listen`.

/// The durable consumer's name, by default.
pub const DEFAULT_CONSUMER: &str = "tributary-collect";

/// Where to collect from: a JetStream stream through a durable pull
/// consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectSettings {
    /// Server URLs (`nats://127.0.0.1:4222`).
    pub nats: Vec<String>,
    /// The stream (created when missing, as forwarding creates it).
    pub stream: String,
    /// The durable consumer: collectors sharing a name split the records
    /// between them; distinct names each get everything.
    pub consumer: String,
}

impl CollectSettings {
    /// From the servers, with the default stream and consumer.
    pub fn new(nats: Vec<String>) -> CollectSettings {
        CollectSettings {
            nats,
            stream: crate::forward::settings::DEFAULT_FORWARD_STREAM.to_owned(),
            consumer: DEFAULT_CONSUMER.to_owned(),
        }
    }

    /// Checks names: each problem with the flag it belongs to.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.nats.is_empty() {
            return Err(("nats", "name a server, e.g. nats://127.0.0.1:4222".into()));
        }
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 128
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !token(&self.stream) {
            return Err((
                "stream",
                format!(
                    "`{}` is not a stream name: letters, digits, `-`, `_`",
                    self.stream
                ),
            ));
        }
        if !token(&self.consumer) {
            return Err((
                "consumer",
                format!(
                    "`{}` is not a consumer name: letters, digits, `-`, `_`",
                    self.consumer
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    #[test]
    fn a_collector_does_not_forward_and_names_its_servers() {
        let mut s = Settings {
            collect: Some(CollectSettings::new(vec!["nats://127.0.0.1:4222".into()])),
            ..Settings::default()
        };
        s.check().unwrap();
        s.forward.nats.push("nats://127.0.0.1:4222".into());
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("forward-nats") && e.contains("come back"), "{e}");
        s.forward.nats.clear();
        s.collect = Some(CollectSettings::new(Vec::new()));
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("`nats`") && e.contains("nats://"), "{e}");
    }
}
