//! tributary-handlers (work in progress).
