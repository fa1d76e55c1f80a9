//! mongo backend (under construction).
