//! Production dispatchers, one file per OS, each behind its own feature.
