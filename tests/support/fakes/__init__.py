"""In-process fakes of provider APIs that implement their documented semantics (tests and benchmarks)."""
