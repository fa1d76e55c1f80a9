//! mysql backend (under construction).
