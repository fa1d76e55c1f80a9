//! Session middleware (under construction).
