"""ai4s-kit conformance: a requirement catalogue (data), checks keyed by its ids, and the
evidence files a CNCF-style submission carries (results.json, junit.xml, e2e.log)."""
