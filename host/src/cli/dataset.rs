//! `ember dataset …` (being written).
