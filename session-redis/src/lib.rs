//! redis backend (under construction).
