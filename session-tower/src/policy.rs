//! Rules that tie cookie attributes together, checked when the layer is applied.
//!
//! Each rule is one a current browser enforces by silently dropping the cookie (RFC 6265bis
//! §4.1.3 for the name prefixes, the `SameSite=None` and CHIPS `Partitioned` requirements), so a
//! layer that broke one would start sessions that never come back. They involve several
//! options at once, so no single `with_*` call can check them without making the result depend
//! on the order of the calls: they are checked on the finished configuration instead.

use crate::LayerError;
use crate::config::{Config, SameSite};

const SECURE_PREFIX: &str = "__Secure-";
const HOST_PREFIX: &str = "__Host-";

/// `true` when `name` starts with `prefix`, ignoring ASCII case: browsers apply the prefix rules
/// to `__HOST-sid` and `__host-sid` too, so those must be checked like `__Host-sid`.
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// The first rule `config` breaks.
pub(crate) fn check(config: &Config) -> Result<(), LayerError> {
    crate::node::check(config)?;
    let host = has_prefix(&config.name, HOST_PREFIX);
    if (host || has_prefix(&config.name, SECURE_PREFIX)) && !config.secure {
        return Err(LayerError::PrefixRequiresSecure {
            prefix: if host { HOST_PREFIX } else { SECURE_PREFIX },
        });
    }
    if host {
        if config.path != "/" {
            return Err(LayerError::HostPrefixRequiresRootPath);
        }
        if config.domain.is_some() {
            return Err(LayerError::HostPrefixForbidsDomain);
        }
    }
    if config.same_site == SameSite::None && !config.secure {
        return Err(LayerError::SameSiteNoneRequiresSecure);
    }
    if config.partitioned && !config.secure {
        return Err(LayerError::PartitionedRequiresSecure);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Config {
        let mut config = Config::new(None);
        config.name = name.to_owned();
        config
    }

    fn secure(name: &str) -> Config {
        let mut config = named(name);
        config.secure = true;
        config
    }

    #[test]
    fn the_defaults_pass() {
        assert!(check(&Config::new(None)).is_ok());
    }

    #[test]
    fn a_host_prefixed_cookie_must_be_secure() {
        for name in ["__Host-sid", "__host-sid", "__HOST-sid"] {
            assert!(
                matches!(
                    check(&named(name)),
                    Err(LayerError::PrefixRequiresSecure { prefix: "__Host-" })
                ),
                "{name}"
            );
            assert!(check(&secure(name)).is_ok(), "{name}");
        }
    }

    #[test]
    fn a_host_prefixed_cookie_must_have_the_root_path() {
        let mut config = secure("__Host-sid");
        config.path = "/app".to_owned();
        assert!(matches!(
            check(&config),
            Err(LayerError::HostPrefixRequiresRootPath)
        ));
    }

    #[test]
    fn a_host_prefixed_cookie_must_not_have_a_domain() {
        let mut config = secure("__Host-sid");
        config.domain = Some("example.com".to_owned());
        assert!(matches!(
            check(&config),
            Err(LayerError::HostPrefixForbidsDomain)
        ));
    }

    #[test]
    fn a_secure_prefixed_cookie_must_be_secure_but_may_have_a_path_and_domain() {
        for name in ["__Secure-sid", "__secure-sid"] {
            assert!(
                matches!(
                    check(&named(name)),
                    Err(LayerError::PrefixRequiresSecure {
                        prefix: "__Secure-"
                    })
                ),
                "{name}"
            );
        }
        let mut config = secure("__Secure-sid");
        config.path = "/app".to_owned();
        config.domain = Some("example.com".to_owned());
        assert!(check(&config).is_ok());
    }

    #[test]
    fn names_that_only_look_like_a_prefix_have_no_rules() {
        for name in ["__Host", "_Host-sid", "x__Host-sid", "__Hostsid", "sid"] {
            let mut config = named(name);
            config.path = "/app".to_owned();
            config.domain = Some("example.com".to_owned());
            assert!(check(&config).is_ok(), "{name}");
        }
    }

    #[test]
    fn same_site_none_requires_secure() {
        let mut config = named("sid");
        config.same_site = SameSite::None;
        assert!(matches!(
            check(&config),
            Err(LayerError::SameSiteNoneRequiresSecure)
        ));
        config.secure = true;
        assert!(check(&config).is_ok());
        for same_site in [SameSite::Lax, SameSite::Strict] {
            let mut config = named("sid");
            config.same_site = same_site;
            assert!(check(&config).is_ok(), "{same_site:?}");
        }
    }

    #[test]
    fn partitioned_requires_secure() {
        let mut config = named("sid");
        config.partitioned = true;
        assert!(matches!(
            check(&config),
            Err(LayerError::PartitionedRequiresSecure)
        ));
        config.secure = true;
        assert!(check(&config).is_ok());
    }
}
