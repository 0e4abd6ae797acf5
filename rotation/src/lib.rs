//! tributary-rotation (work in progress).
