//! tributary-listener (work in progress).
