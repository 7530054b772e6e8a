//! TODO(fs): atomic writes.
