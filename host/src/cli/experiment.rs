//! `ember experiment …` (being written).
