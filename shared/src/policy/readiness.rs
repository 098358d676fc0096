//! The scheduled readiness evaluation (filled in below).
