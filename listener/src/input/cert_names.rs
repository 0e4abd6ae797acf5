//! The names of a client certificate (its subject's common names and its
//! DNS subject alternative names), which `producer-ids-from-cert` compares
//! with the producer id a hello claims.
//!
//! rustls has already verified the certificate against `tls-client-ca`
//! when this runs, but it exposes no parsed subject; this reads just the
//! two fields from the DER (RFC 5280, 4.1 and 4.2.1.6), and a certificate
//! it cannot read yields no names (so no id is accepted for it).

/// DER tags this reader needs.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const VERSION: u8 = 0xA0; // [0] EXPLICIT
const EXTENSIONS: u8 = 0xA3; // [3] EXPLICIT
const DNS_NAME: u8 = 0x82; // GeneralName [2] IA5String, implicit
/// String types a common name comes in that are UTF-8 (or ASCII).
const UTF8_STRING: u8 = 0x0C;
const PRINTABLE_STRING: u8 = 0x13;
const IA5_STRING: u8 = 0x16;

/// id-at-commonName, 2.5.4.3.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// id-ce-subjectAltName, 2.5.29.17.
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];

/// Reads DER elements one after another from a slice.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element's tag and content; `None` at the end or on a
    /// malformed length.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (digits, after) = rest.split_at(n);
            rest = after;
            digits
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (content, after) = rest.split_at(len);
        self.0 = after;
        Some((tag, content))
    }

    /// The next element's content if it has tag `want`.
    fn expect(&mut self, want: u8) -> Option<&'a [u8]> {
        self.next().filter(|(tag, _)| *tag == want).map(|(_, c)| c)
    }
}

/// The certificate's common names and DNS names, in that order; empty
/// when the DER cannot be read.
pub(crate) fn cert_names(der: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    // A certificate this cannot read has no names: ids are then refused,
    // never accepted on partial reading.
    if read(der, &mut names).is_none() {
        names.clear();
    }
    names
}

fn read(der: &[u8], names: &mut Vec<String>) -> Option<()> {
    let cert = Der(der).expect(SEQUENCE)?;
    let mut tbs = Der(Der(cert).expect(SEQUENCE)?);
    let first = tbs.next()?;
    if first.0 == VERSION {
        let _serial = tbs.next()?;
    }
    let _signature = tbs.expect(SEQUENCE)?;
    let _issuer = tbs.expect(SEQUENCE)?;
    let _validity = tbs.expect(SEQUENCE)?;
    let subject = tbs.expect(SEQUENCE)?;
    let _key = tbs.expect(SEQUENCE)?;
    common_names(subject, names)?;
    // Then the optional issuer and subject unique ids, and the extensions.
    while let Some((tag, content)) = tbs.next() {
        if tag == EXTENSIONS {
            dns_names(Der(content).expect(SEQUENCE)?, names)?;
        }
    }
    Some(())
}

/// Name ::= SEQUENCE OF SET OF { type OID, value ANY }.
fn common_names(subject: &[u8], names: &mut Vec<String>) -> Option<()> {
    let mut rdns = Der(subject);
    while let Some(set) = rdns.next() {
        if set.0 != SET {
            return None;
        }
        let mut attributes = Der(set.1);
        while let Some(attribute) = attributes.next() {
            let mut attribute = Der(attribute.1);
            let oid = attribute.expect(OID)?;
            let (kind, value) = attribute.next()?;
            if oid == COMMON_NAME && matches!(kind, UTF8_STRING | PRINTABLE_STRING | IA5_STRING) {
                names.push(String::from_utf8(value.to_vec()).ok()?);
            }
        }
    }
    Some(())
}

/// Extensions ::= SEQUENCE OF { id OID, critical BOOLEAN DEFAULT FALSE,
/// value OCTET STRING }; the subjectAltName value is a SEQUENCE OF
/// GeneralName.
fn dns_names(extensions: &[u8], names: &mut Vec<String>) -> Option<()> {
    let mut extensions = Der(extensions);
    while let Some((_, extension)) = extensions.next() {
        let mut extension = Der(extension);
        if extension.expect(OID)? != SUBJECT_ALT_NAME {
            continue;
        }
        let mut value = extension.next()?;
        if value.0 != OCTET_STRING {
            value = extension.next()?; // after `critical`
        }
        let mut general = Der(Der(value.1).expect(SEQUENCE)?);
        while let Some((tag, name)) = general.next() {
            if tag == DNS_NAME {
                names.push(String::from_utf8(name.to_vec()).ok()?);
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn der(cn: Option<&str>, sans: &[&str]) -> Vec<u8> {
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Acme");
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_common_name_and_dns_names_are_read() {
        assert_eq!(
            cert_names(&der(Some("web-1"), &["web-1.example.com", "w1"])),
            ["web-1", "web-1.example.com", "w1"]
        );
        assert_eq!(cert_names(&der(None, &["only-san"])), ["only-san"]);
        assert_eq!(cert_names(&der(Some("only-cn"), &[])), ["only-cn"]);
    }

    #[test]
    fn a_damaged_certificate_has_no_names() {
        let good = der(Some("web-1"), &["web-1.example.com"]);
        for cut in 0..good.len() {
            assert_eq!(
                cert_names(&good[..cut]),
                Vec::<String>::new(),
                "cut at {cut}"
            );
        }
        assert!(cert_names(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).is_empty());
    }
}
